"""A binding's SOAP service: the shared parsed WSDL, its own transport and address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework.errors import BadRequest, ConfigError, NotFound, UpstreamError
from framework.outbound import OutboundHTTP
from framework.soap import cache
from framework.soap.faults import soap_errors
from framework.soap.loader import Fetch
from framework.soap.serialize import to_json
from framework.soap.signature import operation_signature
from framework.soap.source import WsdlSource
from framework.soap.transport import BindingTransport
from framework.soap.validate import check_arguments


class SoapService:
    """One binding's view of a WSDL service port: list, describe and call operations."""

    def __init__(self, client: Any, proxy: Any, binding: Any, address: str) -> None:
        self.client = client      # light zeep Client: this binding's transport + the shared document
        self.proxy = proxy        # zeep ServiceProxy for this binding's address
        self.binding = binding    # the WSDL binding (shared, read-only)
        self.address = address

    @property
    def document(self) -> Any:
        """The shared parsed WSDL (the same object for every binding of this WSDL)."""
        return self.client.wsdl

    @property
    def operations(self) -> list[str]:
        return sorted(self.binding._operations)

    def signature(self, name: str) -> dict[str, Any]:
        self._known(name)
        return operation_signature(self.binding, name)

    def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call ``name`` with keyword ``arguments``; return the answer as plain JSON."""
        self._known(name)
        if arguments is not None and not isinstance(arguments, Mapping):
            raise BadRequest(f"{name}: the body must be a JSON object of the operation's arguments")
        check_arguments(self.binding, name, arguments or {})
        with soap_errors(name, self.address):
            result = self.proxy[name](**dict(arguments or {}))
            return to_json(result)

    def _known(self, name: str) -> None:
        if name not in self.binding._operations:
            from framework.config.report import did_you_mean

            raise NotFound(f"the WSDL has no operation {name!r}",
                           hint=did_you_mean(name, self.binding._operations)
                           or f"operations: {', '.join(self.operations)}")


def open_service(source: WsdlSource, http: OutboundHTTP, *, service: str | None = None,
                 port: str | None = None, address: str | None = None) -> SoapService:
    """The SOAP service of one binding; parses the WSDL only if no binding did yet."""
    from zeep import Client

    document, settings = cache.document_for(source, _fetcher(http))
    wsdl_port = _port(document, service, port, source.location)
    target = address or wsdl_port.binding_options.get("address")
    if not target:
        raise ConfigError(f"WSDL {source.location} gives no address for port {wsdl_port.name!r}",
                          hint="set the 'address' setting")
    client = Client(document, transport=BindingTransport(http), settings=settings)  # type: ignore[no-untyped-call]
    proxy = client.create_service(wsdl_port.binding.name, target)  # type: ignore[no-untyped-call]
    return SoapService(client, proxy, wsdl_port.binding, target)


def _port(document: Any, service: str | None, port: str | None, where: str) -> Any:
    services = document.services
    if not services:
        raise ConfigError(f"WSDL {where} declares no service")
    if service:
        if service not in services:
            raise ConfigError(f"WSDL {where} has no service {service!r}",
                              hint=f"services: {', '.join(services)}")
        chosen = services[service]
    else:
        chosen = next(iter(services.values()))
    if port:
        if port not in chosen.ports:
            raise ConfigError(f"service {chosen.name!r} of WSDL {where} has no port {port!r}",
                              hint=f"ports: {', '.join(chosen.ports)}")
        return chosen.ports[port]
    return next(iter(chosen.ports.values()))


def _fetcher(http: OutboundHTTP) -> Fetch:
    def fetch(url: str) -> bytes:
        response = http.request("GET", url)
        if response.status_code >= 400:
            raise UpstreamError(f"{url} answered HTTP {response.status_code}")
        return response.content

    return fetch
