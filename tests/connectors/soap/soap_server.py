"""A real SOAP server on a loopback port, for the soap and payfip connector tests.

A small WSGI app (werkzeug's threaded server) answering SOAP 1.1 envelopes for the
calculator and PayFiP's operations, plus faults, a malformed answer, an HTML page, a
slow answer, hostile XML (billion laughs, external entities) and WSDL downloads.
``Canary`` is a second listener that only counts what reaches it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from lxml import etree
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PAYFIP_NS = ("http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
             "contrat_paiement_securise/PaiementSecuriseService")
TEMPURI = "http://tempuri.org/"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def external_entity(system_url: str) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY xxe SYSTEM "{system_url}"> ]>
"""


def external_dtd(system_url: str) -> str:
    return f'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "{system_url}">\n'


def envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP_ENV}">'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>")


def hostile_envelope(prologue: str, entity: str) -> str:
    """A SOAP Add answer whose result is an entity reference, behind a hostile DTD."""
    return prologue + (f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
                       f'<AddResponse xmlns="{TEMPURI}"><AddResult>&{entity};</AddResult>'
                       "</AddResponse></soap:Body></soap:Envelope>")


def fault(code: str, string: str, detail: str = "") -> str:
    detail_xml = f"<detail>{detail}</detail>" if detail else ""
    return envelope(f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{string}</faultstring>"
                    f"{detail_xml}</soap:Fault>")


def payfip_error(code: str, message: str) -> str:
    return fault("soap:Server", "fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur",
                 f'<ns2:FonctionnelleErreur xmlns:ns2="{PAYFIP_NS}"><code>{code}</code>'
                 f"<descriptif>{message}</descriptif><libelle>{message}</libelle>"
                 "<severite>2</severite></ns2:FonctionnelleErreur>")


class SoapServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []  # (path, operation, body)
        self.wsdl_documents: dict[str, bytes] = {}        # path → content served on GET
        self.delay = 0.0
        self.answers: dict[str, Answer] = {}              # path → fixed answer set by a test
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SoapServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET":
            self.requests.append((path, "GET", b""))
            if path in self.wsdl_documents:
                return Response(self.wsdl_documents[path], content_type="text/xml")
            return Response("not found", status=404)
        body = request.get_data()
        operation = _operation(body)
        self.requests.append((path, operation, body))
        if path == "/slow":
            time.sleep(self.delay)
        if path in self.answers:
            status, content, ctype = self.answers[path]
            return Response(content, status=status, content_type=ctype)
        handler = ROUTES.get(path.split("/")[1] if "/" in path else path)
        if handler is None:
            return Response("no such service", status=404)
        status, content, ctype = handler(operation, body)
        return Response(content, status=status, content_type=ctype)


def _operation(body: bytes) -> str:
    # The test server parses hardened too: it must not expand what a client sends.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return "?"
    found = root.find(f"{{{SOAP_ENV}}}Body")
    return etree.QName(found[0]).localname if found is not None and len(found) else "?"


def _text(body: bytes, name: str) -> str:
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.find(f".//{name}")
    if found is None:
        found = root.find(f".//{{*}}{name}")
    return (found.text or "") if found is not None else ""


XML = "text/xml; charset=utf-8"
Answer = tuple[int, str, str]


def calculator(operation: str, body: bytes) -> Answer:
    a, b = int(_text(body, "intA")), int(_text(body, "intB"))
    if operation == "Divide" and b == 0:
        return 500, fault("soap:Server", "System.DivideByZeroException: Attempted to divide by zero."), XML
    result = {"Add": a + b, "Subtract": a - b, "Multiply": a * b, "Divide": a // (b or 1)}[operation]
    return 200, envelope(f'<{operation}Response xmlns="{TEMPURI}"><{operation}Result>{result}'
                         f"</{operation}Result></{operation}Response>"), XML


def payfip(operation: str, body: bytes) -> Answer:
    if operation == "creerPaiementSecurise":
        if _text(body, "refdet") == "REFUSED1":
            return 500, payfip_error("R3", "Le format du paramètre REFDET n'est pas conforme"), XML
        return 200, envelope(f'<ns2:creerPaiementSecuriseResponse xmlns:ns2="{PAYFIP_NS}"><return>'
                             "<idOp>c2ab3f4e-77b1-4a7e-9a3c-3f1b0c6d2e10</idOp></return>"
                             "</ns2:creerPaiementSecuriseResponse>"), XML
    if operation == "recupererDetailPaiementSecurise":
        idop = _text(body, "idOp")
        if idop == "pending":
            return 500, payfip_error("P5", "Transaction en cours"), XML
        if idop == "unknown":
            return 500, payfip_error("P1", "IdOp incorrect"), XML
        return 200, envelope(
            f'<ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2="{PAYFIP_NS}"><return>'
            "<dattrans>12092024</dattrans><exer>2024</exer><heurtrans>1432</heurtrans>"
            f"<idOp>{idop}</idOp><mel>payeur@example.org</mel><montant>4250</montant>"
            "<numauto>A12345</numauto><numcli>012345</numcli><objet>Cantine septembre</objet>"
            "<refdet>CANTINE2024000123</refdet><resultrans>P</resultrans><saisie>T</saisie>"
            "</return></ns2:recupererDetailPaiementSecuriseResponse>"), XML
    return 500, fault("soap:Client", f"unknown operation {operation}"), XML


def fixed(status: int, content: str, ctype: str = XML) -> Callable[[str, bytes], Answer]:
    return lambda operation, body: (status, content, ctype)


ROUTES: dict[str, Callable[[str, bytes], Answer]] = {
    "calc": calculator,
    "payfip": payfip,
    "slow": calculator,
    "malformed": fixed(200, '<?xml version="1.0"?><soap:Envelope xmlns:soap="' + SOAP_ENV + '"><soap:Body>'),
    "wrongshape": fixed(200, envelope('<Unexpected xmlns="urn:x"><a>1</a></Unexpected>')),
    "html": fixed(200, "<html><body><h1>Maintenance</h1></body></html>", "text/html; charset=utf-8"),
    "html500": fixed(502, "<html><body>Bad gateway</body></html>", "text/html"),
    "laughs": fixed(200, hostile_envelope(BILLION_LAUGHS, "lol9")),
}


class Canary:
    """A listener that must never be reached: it counts every request."""

    def __init__(self) -> None:
        self.hits: list[str] = []

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self.hits.append(environ.get("PATH_INFO", ""))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"canary"]

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def running() -> Iterator[SoapServer]:
    server = SoapServer().start()
    try:
        yield server
    finally:
        server.stop()
