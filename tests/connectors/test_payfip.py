"""The payfip connector against the loopback SOAP server answering PayFiP's operations."""

# ruff: noqa: F811  (pytest fixtures imported from support.py are parameters here)
from __future__ import annotations

from pathlib import Path

import pytest

from framework.app import Raccord
from framework.errors import BadRequest, NotFound, SoapFault
from framework.testing import call, check_text, make_raccord
from tests.connectors.soap.soap_server import SoapServer
from tests.connectors.soap.support import fresh_wsdl_cache, server, territory  # noqa: F401  (fixtures, used by name)

GOOD = {"amount": 4250, "refdet": "CANTINE2024000123", "email": "payeur@example.org", "exer": 2024,
        "objet": "Cantine de septembre, école Jean-Moulin"}


def payfip_text(service_url: str, numcli: str = "012345") -> str:
    return territory(f"""
        [profiles.paiement]
        connector = "payfip"
        [profiles.paiement.settings]
        service_url = "{service_url}"
        payment_url = "https://www.payfip.gouv.fr/tpa/paiementws.web"
        mode = "test"
        read_timeout = 5

        [instances.metz]
        name = "Metz"
        profiles = ["paiement"]
        [instances.metz.settings.paiement]
        numcli = "{numcli}"
        url_notification = "https://demarches.metz.fr/payfip/notify"
        url_redirect = "https://demarches.metz.fr/payfip/back"
        """)


@pytest.fixture()
def payfip(tmp_path: Path, server: SoapServer) -> Raccord:
    r = make_raccord(payfip_text(f"{server.url}/payfip"), tmp_path)
    yield r
    r.close()


def test_create_payment_returns_idop_and_payment_page(payfip: Raccord, server: SoapServer) -> None:
    data = call(payfip, "metz/paiement/create_payment", method="POST", body=GOOD)
    assert data["idop"] == "c2ab3f4e-77b1-4a7e-9a3c-3f1b0c6d2e10"
    assert data["url"] == ("https://www.payfip.gouv.fr/tpa/paiementws.web"
                           "?idop=c2ab3f4e-77b1-4a7e-9a3c-3f1b0c6d2e10")
    path, operation, body = server.requests[-1]
    assert (path, operation) == ("/payfip", "creerPaiementSecurise")
    for fragment in (b"<montant>4250</montant>", b"<numcli>012345</numcli>", b"<saisie>T</saisie>",
                     b"<refdet>CANTINE2024000123</refdet>", b"<exer>2024</exer>",
                     b"<objet>Cantine de septembre ecole Jean Moulin</objet>",
                     b"<urlnotif>https://demarches.metz.fr/payfip/notify</urlnotif>"):
        assert fragment in body, fragment


def test_payment_details_as_json(payfip: Raccord) -> None:
    data = call(payfip, "metz/paiement/payment", idop="c2ab3f4e")
    assert data["status"] == "paid" and data["paid"] is True
    assert data["detail"]["resultrans"] == "P" and data["detail"]["montant"] == "4250"
    assert data["detail"]["numauto"] == "A12345"


def test_pending_and_unknown_payments(payfip: Raccord) -> None:
    assert call(payfip, "metz/paiement/payment", idop="pending")["status"] == "pending"
    with pytest.raises(NotFound):
        call(payfip, "metz/paiement/payment", idop="unknown")


def test_payfip_fault_is_a_502_with_its_code(payfip: Raccord) -> None:
    with pytest.raises(SoapFault) as err:
        call(payfip, "metz/paiement/create_payment", method="POST", body={**GOOD, "refdet": "REFUSED1"})
    assert err.value.status == 502
    assert err.value.data["fault_code"] == "soap:Server"
    assert err.value.data["fault_string"].endswith("FonctionnelleErreur")
    assert err.value.data["detail"]["FonctionnelleErreur"]["code"] == "R3"


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": 0}, "amount"),
    ({"amount": 99}, "amount"),
    ({"amount": 10_000_001}, "amount"),
    ({"amount": 12.5}, "amount"),
    ({"amount": "4250"}, "amount"),
    ({"amount": True}, "amount"),
    ({"refdet": "ABC"}, "refdet"),
    ({"refdet": "CANTINE 2024"}, "refdet"),
    ({"refdet": "X" * 31}, "refdet"),
    ({"email": "nobody"}, "email"),
    ({"exer": 1990}, "exer"),
    ({"exer": "20x4"}, "exer"),
    ({"exer": "²⁰²⁴"}, "exer"),  # str.isdigit() says yes, int() says no
    ({"exer": "２０２４"}, "exer"),  # full-width digits are not what PayFiP reads
])
def test_validation_errors_name_the_field(payfip: Raccord, server: SoapServer, change: dict[str, object],
                                          field: str) -> None:
    before = len(server.requests)
    with pytest.raises(BadRequest) as err:
        call(payfip, "metz/paiement/create_payment", method="POST", body={**GOOD, **change})
    # Types are refused by the declared body_schema (the call path's check), the
    # rest by the connector's rules: either way the message names the field.
    message = err.value.message
    assert err.value.status == 400 and (f"field '{field}'" in message or message.startswith(f"body.{field}:"))
    assert len(server.requests) == before


def test_bad_idop_is_a_400(payfip: Raccord) -> None:
    with pytest.raises(BadRequest) as err:
        call(payfip, "metz/paiement/payment", idop="../../etc")
    assert "idop" in err.value.message


def test_check_reports_a_bad_numcli_with_its_line(tmp_path: Path) -> None:
    report = check_text(payfip_text("https://payfip.example", numcli="12AB"), tmp_path)
    errors = [str(e) for e in report.errors]
    assert len(errors) == 1 and "numcli" in errors[0] and "6-digit" in errors[0]
    assert ":" in errors[0].split("numcli")[0]  # file:line before the key


def test_every_instance_has_its_numcli_but_one_parse(tmp_path: Path, server: SoapServer) -> None:
    from framework.soap import cache

    blocks = [payfip_text(f"{server.url}/payfip")]
    for i in range(5):
        blocks.append(f"""
[instances.c{i}]
name = "C{i}"
profiles = ["paiement"]
[instances.c{i}.settings.paiement]
numcli = "99000{i}"
url_notification = "https://c{i}.example/n"
url_redirect = "https://c{i}.example/r"
""")
    r = make_raccord("\n".join(blocks), tmp_path)
    try:
        for i in range(5):
            call(r, f"c{i}/paiement/create_payment", method="POST", body=GOOD)
            assert f"<numcli>99000{i}</numcli>".encode() in server.requests[-1][2]
    finally:
        r.close()
    assert cache.stats.parses == 1 and cache.stats.hits == 4


def test_polling_a_pending_payment_does_not_open_the_circuit(payfip: Raccord) -> None:
    # PayFiP answers "still pending" with a SOAP fault over HTTP 500: a server that
    # answers faults is up, so polling more often than breaker_threshold (5) must
    # neither open the binding's circuit nor mark it down.
    for _ in range(8):
        assert call(payfip, "metz/paiement/payment", idop="pending")["status"] == "pending"
    breaker = payfip.bound("metz", "paiement").connector.http.breaker
    assert breaker is not None and breaker.state == "closed"
    assert call(payfip, "metz/paiement/payment", idop="pending")["status"] == "pending"


def test_exer_is_sent_as_a_plain_year() -> None:
    from connectors.payfip import rules

    assert rules.payment_request({**GOOD, "exer": "02024"})["exer"] == "2024"
