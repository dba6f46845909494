"""The payfip connector class."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from connectors.payfip import rules
from connectors.soap.base import SoapBase, package_dir
from framework import REQUIRED, Call, NotFound, Param, Setting, SoapFault, endpoint

CREATE = "creerPaiementSecurise"
DETAIL = "recupererDetailPaiementSecurise"


class PayFiP(SoapBase):
    """DGFiP PayFiP online payment of public-sector bills: create a secure payment and send
    the citizen to the PayFiP page, then read the payment's result. Each instance has its
    own régie number (numcli); the service and the payment page are shared."""

    id = "payfip"
    title = "PayFiP (DGFiP online payment)"
    wsdl_base_dir = package_dir(__file__)

    numcli = Setting(str, REQUIRED, "the régie's PayFiP client number (6 digits, given by the DGFiP)",
                     variability="instance")
    mode = Setting(str, "test", "'test' (no money moves), 'activation' (the DGFiP's acceptance "
                   "run) or 'production'", choices=tuple(rules.SAISIE))
    service_url = Setting(str, "https://www.payfip.gouv.fr/tpa/services/securite",
                          "the PayFiP SOAP service URL")
    payment_url = Setting(str, "https://www.payfip.gouv.fr/tpa/paiementws.web",
                          "the PayFiP payment page the citizen is sent to (…?idop=<id>)")
    url_notification = Setting(str, REQUIRED, "URL PayFiP calls when the payment ends (the "
                               "instance's w.c.s. or portal)", variability="instance")
    url_redirect = Setting(str, REQUIRED, "URL the citizen comes back to after paying",
                           variability="instance")
    wsdl = Setting(str, "wsdl/PaiementSecuriseService.wsdl", "the PayFiP WSDL (shipped with the "
                   "connector)", variability="fixed")

    def service_options(self) -> dict[str, str | None]:
        return {"service": None, "port": None, "address": self.settings.service_url}

    def numcli_checked(self) -> str:
        value = str(self.settings.numcli)
        if not rules.NUMCLI_RE.fullmatch(value):
            from framework.errors import ConfigError

            raise ConfigError(f"numcli of {self.ctx.binding_id} is not 6 digits",
                              hint="fix it in instances.toml (raccord check reports it)")
        return value

    @endpoint(
        # Creating a payment commits the régie to a bill: only a client (w.c.s.) may.
        permission="can_access",
        methods=("POST",),
        description="Create a secure PayFiP payment; returns its idop and the URL of the "
                    "PayFiP page to send the citizen to.",
        body_schema={
            "type": "object",
            "required": ["amount", "refdet", "email"],
            "properties": {
                "amount": {"type": "integer", "description": "amount in cents, 100 to 10,000,000"},
                "refdet": {"type": "string", "description": "the bill's reference, 6-30 letters/digits"},
                "email": {"type": "string", "description": "the payer's email"},
                "exer": {"type": "integer", "description": "the budget year (default: this year)"},
                "objet": {"type": "string", "description": "what is paid (100 chars, accents dropped)"},
            },
        },
        body_example={"amount": 4250, "refdet": "CANTINE2024000123", "email": "payeur@example.org",
                      "exer": 2024, "objet": "Cantine septembre"},
    )
    def create_payment(self, call: Call) -> dict[str, Any]:
        fields = rules.payment_request(call.body)
        request = {**fields, "numcli": self.numcli_checked(), "saisie": rules.SAISIE[self.settings.mode],
                   "urlnotif": self.settings.url_notification, "urlredirect": self.settings.url_redirect}
        if not request["objet"]:
            del request["objet"]
        answer = self.service.call(CREATE, {"arg0": request})
        # zeep unwraps a one-element answer: the idOp may come bare or in its record.
        idop = answer.get("idOp") if isinstance(answer, dict) else answer
        if not idop:
            from framework import UpstreamError

            raise UpstreamError("PayFiP created no payment: its answer has no idOp")
        url = f"{self.settings.payment_url}?{urlencode({'idop': idop})}"
        return {"idop": idop, "url": url, "refdet": fields["refdet"], "amount": int(fields["montant"]),
                "mode": self.settings.mode}

    @endpoint(
        # A payment's status names the bill and amount: for clients, not for anyone.
        permission="can_access",
        description="The result of a PayFiP payment: status (paid, refused, cancelled, pending), "
                    "and PayFiP's details (dattrans, heurtrans, montant, numauto, resultrans…).",
        params=[Param("idop", str, "the payment's idop, as create_payment returned it",
                      "c2ab3f4e-77b1-4a7e-9a3c-3f1b0c6d2e10", required=True)],
    )
    def payment(self, call: Call) -> dict[str, Any]:
        idop = rules.idop(call.params["idop"])
        try:
            detail = self.service.call(DETAIL, {"arg0": {"idOp": idop}}) or {}
        except SoapFault as fault:
            code = _fault_code(fault)
            if code == "P5":  # PayFiP: the citizen has not finished paying yet
                return {"idop": idop, "status": "pending", "label": "payment in progress",
                        "paid": False, "detail": None}
            if code == "P1":
                raise NotFound(f"PayFiP knows no payment {idop!r}",
                               hint="an idop is forgotten a day after it expires") from None
            raise
        return {"idop": idop, **rules.status_of(detail), "detail": detail}


def _fault_code(fault: SoapFault) -> str | None:
    detail = (fault.data or {}).get("detail")
    if isinstance(detail, dict):
        for value in detail.values():
            if isinstance(value, dict) and value.get("code"):
                return str(value["code"])
    return None
