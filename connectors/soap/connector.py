"""The generic soap connector: any WSDL's operations as JSON endpoints."""

from __future__ import annotations

from typing import Any

from connectors.soap.base import SoapBase
from framework import Call, Forbidden, Setting, endpoint


class SoapConnector(SoapBase):
    """Call the operations of a SOAP service described by its WSDL: JSON in, SOAP out,
    the answer back as JSON. An allow-list restricts which operations a profile offers."""

    id = "soap"
    title = "SOAP service (generic, from its WSDL)"

    wsdl = Setting(str, description="the WSDL: a path (relative to instances.toml) or an https URL "
                   "(fetched once, then cached on disk)")
    service_name = Setting(str, "", "the WSDL service to use when it declares several (default: the first)",
                           name="service")
    port = Setting(str, "", "the service port to use when it has several (default: the first)")
    address = Setting(str, "", "the SOAP endpoint URL, when not the one the WSDL gives",
                      variability="instance")
    allowed_operations = Setting(list, [], "operations this profile offers (empty: all of them)")

    def service_options(self) -> dict[str, str | None]:
        return {
            "service": self.settings.service or None,
            "port": self.settings.port or None,
            "address": self.settings.address or None,
        }

    def allowed(self) -> list[str]:
        names: list[str] = self.service.operations
        allow = self.settings.allowed_operations
        return [n for n in names if n in allow] if allow else names

    # A generic gateway to a business server's SOAP service: for clients only.
    @endpoint(permission="can_access", description="The operations this profile offers, each with its input and output "
              "(XSD types; '?' marks an optional element, [..] a repeated one).")
    def operations(self, call: Call) -> list[dict[str, Any]]:
        return [self.service.signature(name) for name in self.allowed()]

    @endpoint(
        permission="can_access",
        methods=("POST",),
        description="Call an operation: POST /call/<operation> with a JSON object of its "
                    "arguments; the SOAP answer comes back as JSON. A SOAP fault is a 502 "
                    "whose data holds fault_code, fault_string and detail.",
        pattern=r"(?P<operation>\w+)",
        body_schema={"type": "object"},
        body_example={"intA": 2, "intB": 3},
    )
    def call(self, call: Call) -> Any:
        operation = call.path_args["operation"]
        allow = self.settings.allowed_operations
        if allow and operation not in allow:
            raise Forbidden(f"operation {operation!r} is not offered by this profile",
                            hint=f"allowed operations: {', '.join(allow)}")
        return self.service.call(operation, call.body if call.body is not None else {})
