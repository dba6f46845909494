"""Replaying what w.c.s. sends, through the running gateway (gunicorn), and asserting
what w.c.s. reads from the answers.

The requests are built by ``wcs_client.Wcs`` the way w.c.s.'s source builds them
(geocoding, reverse geocoding, JSON data sources, webservice calls and POSTs), signed
as its ``sign_url`` signs. The BAN is a local server replaying recorded answers
(tests/data/ban, see tests/data/SOURCES.md): a Metz search, a Metz reverse, a
zero-result answer, an arrondissement code (Paris 10e, 75110) and an answer without
postcode. The territory is the hybrid model: Metz has its own w.c.s.; the
multi-communal instance's w.c.s. calls the communes it hosts, with the one secret it
holds for raccord's host name.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from tests.conftest import ROOT
from tests.framework.gateway import fakes
from tests.framework.gateway.conftest import Live
from tests.framework.gateway.wcs_client import Wcs

BAN = Path(__file__).resolve().parents[2] / "data" / "ban"
METZ_SECRET = "metz-wcs-secret-for-tests"
COMMUNES_SECRET = "communes-wcs-secret-for-tests"
ANSWERS = {  # the BAN's /search/ answer by (lower-cased) query
    "1 rue serpenoise metz": "metz_rue_serpenoise_search.json",
    "rue serpenoise": "metz_rue_serpenoise_search.json",
    "oozpuip": "geocoder_ban_data_gouv_fr_no_results.json",
    "13 rue yves toudic": "geocoder_ban_data_gouv_fr_rue_yves_toudic.json",
    "13 rue yves toudic paris": "rue_yves_toudic_without_postcode.json",
}


class FakeBan:
    """The BAN API on a loopback port, replaying recorded answers; keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.asked.append((request.path, dict(request.args)))
        if request.path == "/reverse/":
            name = "metz_reverse.json"
        else:
            name = ANSWERS.get(request.args.get("q", "").lower(), "geocoder_ban_data_gouv_fr_no_results.json")
        body = (BAN / name).read_text(encoding="utf-8")
        return Response(body, mimetype="application/json")(environ, start_response)


def territory(ban: str, upstream: str, secrets: Path) -> str:
    def secret(name: str) -> str:
        return f'{{ file = "{secrets / name}" }}'

    return f"""
[territory]
name = "w.c.s. replay"

[profiles.adresse]
connector = "base_adresse"
settings = {{ service_url = "{ban}", retries = 0 }}

[profiles.referentiel]
connector = "csv_datasource"
settings = {{ path = "{ROOT / 'data' / 'metz_metropole_communes.csv'}", id_column = "insee", text_column = "name" }}

[profiles.echo]
connector = "gw_echo"
settings = {{ read_timeout = 0.3 }}

[instances.metz]
name = "Ville de Metz"
insee = ["57463"]
profiles = ["adresse", "echo", "referentiel"]

[instances.metz.settings.echo]
url = "{upstream}"

# Metz's own w.c.s.: orig is its front-office host name.
[instances.metz.clients.wcs]
signature = {{ orig = "demarches.metz.test", secret = {secret("metz")} }}
permissions = ["can_access"]

[instances.communes]
name = "Instance multi-communale"
kind = "multicommunal"
profiles = ["adresse"]

# The multi-communal w.c.s.: one secret for raccord's host, granted on each hosted commune.
[instances.communes.clients.wcs]
signature = {{ orig = "demarches-communes.test", secret = {secret("communes")} }}
permissions = ["can_access"]
""" + "".join(f"""
[instances.{name}]
insee = ["{insee}"]
hosted_by = "communes"
profiles = ["adresse", "echo"]
grants = ["communes.wcs"]
settings = {{ echo = {{ url = "{upstream}" }} }}
""" for name, insee in (("woippy", "57751"), ("paris", "75056")))


@pytest.fixture(scope="module")
def ban() -> Iterator[FakeBan]:
    yield FakeBan()


@pytest.fixture(scope="module")
def gw(ban: FakeBan, upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("wcs")
    (root / "metz").write_text(METZ_SECRET, encoding="utf-8")
    (root / "communes").write_text(COMMUNES_SECRET, encoding="utf-8")
    with fakes.serve_wsgi(ban) as ban_url:
        config = root / "instances.toml"
        config.write_text(territory(ban_url, upstream, root), encoding="utf-8")
        server = Live(config, f"sqlite:///{root / 'wcs.sqlite3'}")
        yield server
        server.stop()


@pytest.fixture(scope="module")
def metz_wcs(gw: Live) -> Wcs:
    return Wcs("demarches.metz.test", {"127.0.0.1": METZ_SECRET})


@pytest.fixture(scope="module")
def communes_wcs(gw: Live) -> Wcs:
    return Wcs("demarches-communes.test", {"127.0.0.1": COMMUNES_SECRET})


def get(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=10, headers={"Accept": "application/json"})


def data_source(wcs: Wcs, url: str) -> list[dict[str, Any]]:
    """What a JSON data source reads: a dict with err 0 and a data list."""
    resp = get(wcs.sign_url_auto_orig(url))
    payload = resp.json()
    assert resp.status_code == 200 and isinstance(payload, dict), resp.text
    assert payload.get("err") in (None, 0, "0"), payload
    assert resp.headers["X-Error-Code"] == "0"
    items: list[dict[str, Any]] = payload["data"]
    return items


# -- geocoding (geocoding-services-base-url = <raccord>/<instance>/<profile>) --------------


def test_geolocate_search_reads_a_bare_list_with_lat_lon_display_name(gw: Live, ban: FakeBan) -> None:
    # wf/geolocate.py: unsigned, q quoted, format=json, accept-language.
    resp = get(Wcs.geolocate_url(f"{gw.url}/metz/adresse", "1 rue Serpenoise Metz"))
    assert resp.status_code == 200, resp.text
    places = resp.json()
    assert isinstance(places, list) and places  # a dict would make w.c.s. give up
    first = places[0]
    assert (float(first["lat"]), float(first["lon"])) == (49.117355, 6.175826)
    assert first["display_name"] == "1 Rue Serpenoise 57000 Metz"
    # Scoped to Metz: the Montigny answer the BAN also sent is not there.
    assert {p["address"]["citycode"] for p in places} == {"57463"}
    assert ban.asked[-1] == ("/search/", {"q": "1 rue Serpenoise Metz", "citycode": "57463", "limit": "10"})


def test_geolocate_with_nothing_found_is_an_empty_list(gw: Live) -> None:
    resp = get(Wcs.geolocate_url(f"{gw.url}/metz/adresse", "oozpuip"))
    assert resp.status_code == 200 and resp.json() == []


def test_reverse_geocoding_signed_reads_one_object_with_address(gw: Live, metz_wcs: Wcs) -> None:
    url = metz_wcs.reverse_geocoding_url(f"{gw.url}/metz/adresse", 49.117355, 6.175826)
    query = urllib.parse.urlparse(url).query
    assert query.startswith("zoom=18&format=json&addressdetails=1&lat=49.117355&lon=6.175826&accept-language=fr"
                            "&orig=demarches.metz.test&algo=sha256&timestamp=")
    resp = get(url)
    assert resp.status_code == 200, resp.text
    place = resp.json()
    assert isinstance(place, dict)
    assert (place["address"]["road"], place["address"]["house_number"]) == ("Rue Serpenoise", "1")
    assert place["address"]["postcode"] == "57000" and place["address"]["city"] == "Metz"
    assert place["address"]["citycode"] == "57463" and place["address"]["country"] == "France"
    assert place["display_name"] == "1 Rue Serpenoise 57000 Metz" and place["id"] == "57463_6315_00001"
    assert (float(place["lat"]), float(place["lon"])) == (49.117355, 6.175826)


def test_reverse_outside_the_instance_is_nominatims_error_object(gw: Live, communes_wcs: Wcs) -> None:
    # The BAN's nearest address is in Metz; Woippy (hosted) does not serve it.
    resp = get(communes_wcs.reverse_geocoding_url(f"{gw.url}/woippy/adresse", 49.117355, 6.175826))
    assert resp.status_code == 200 and resp.json() == {"error": "Unable to geocode"}


# -- data sources (autocompletion, read back by id) ----------------------------------------


def test_autocomplete_items_fill_the_address_field_and_read_back_by_id(gw: Live, metz_wcs: Wcs) -> None:
    items = data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=rue serpenoise")
    assert [i["id"] for i in items] == ["57463_6315_00001", "57463_6315_00011"]
    for item in items:  # qommon.geolocation.js takes item.address when it is an object
        address = item["address"]
        assert address["road"] == "Rue Serpenoise" and address["house_number"] in ("1", "11")
        assert address["city"] == "Metz" and address["postcode"] == "57000"
        assert item["text"] and item["display_name"] == item["text"]
        assert isinstance(item["lat"], float) and isinstance(item["lon"], float)
    # get_value_by_id: the same URL + &id=<quoted id>, one item, the same as served.
    chosen = items[1]
    again = data_source(metz_wcs, f"{gw.url}/metz/adresse/search?id={urllib.parse.quote(chosen['id'])}")
    assert again == [chosen]


def test_first_keystroke_is_an_empty_list_not_an_error(gw: Live, metz_wcs: Wcs, ban: FakeBan) -> None:
    asked = len(ban.asked)
    assert data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=3") == []
    assert data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=") == []
    assert len(ban.asked) == asked  # the BAN, which would refuse it, is not asked


def test_empty_parameters_are_absent(gw: Live, metz_wcs: Wcs, ban: FakeBan) -> None:
    # Templates that render empty: lat=&lon=&limit=&type= mean "not given".
    items = data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=rue serpenoise&lat=&lon=&limit=&type=")
    assert len(items) == 2
    assert ban.asked[-1][1] == {"q": "rue serpenoise", "citycode": "57463", "limit": "10"}
    assert data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=&id=") == []


def test_repeated_ids_return_every_item(gw: Live, metz_wcs: Wcs) -> None:
    served = data_source(metz_wcs, f"{gw.url}/metz/adresse/search?q=rue serpenoise")
    ids = [served[1]["id"], served[0]["id"]]
    # A webservice call with a list value: id=…&id=… (repeated keys).
    url = metz_wcs.webservice_url(f"{gw.url}/metz/adresse/search", {"id": ids})
    assert urllib.parse.urlparse(url).query.startswith(f"id={ids[0]}&id={ids[1]}&orig=")
    payload = get(url).json()
    assert payload["err"] == 0 and payload["data"] == [served[1], served[0]]


def test_the_data_source_contract_repeated_ids_return_both(gw: Live, metz_wcs: Wcs) -> None:
    items = data_source(metz_wcs, f"{gw.url}/metz/referentiel/data?id=57463&id=57480")
    assert [(i["id"], i["text"]) for i in items] == [("57463", "Metz"), ("57480", "Montigny-lès-Metz")]
    url = metz_wcs.webservice_url(f"{gw.url}/metz/referentiel/data", {"id": ["57480", "57463"]})
    assert [i["id"] for i in get(url).json()["data"]] == ["57463", "57480"]


def test_zero_results_and_arrondissement_and_missing_postcode(gw: Live, communes_wcs: Wcs) -> None:
    assert data_source(communes_wcs, f"{gw.url}/paris/adresse/search?q=oozpuip") == []
    [toudic] = data_source(communes_wcs, f"{gw.url}/paris/adresse/search?q=13 rue yves toudic")
    assert toudic["citycode"] == "75110" and toudic["commune_code"] == "75056"  # Paris 10e in Paris
    assert (toudic["address"]["road"], toudic["address"]["house_number"]) == ("Rue Yves Toudic", "13")
    assert toudic["address"]["citycode"] == "75110" and toudic["address"]["postcode"] == "75010"
    [bare] = data_source(communes_wcs, f"{gw.url}/paris/adresse/search?q=13 rue yves toudic paris")
    assert bare["address"]["postcode"] is None and bare["address"]["road"] == "Rue Yves Toudic"
    assert bare["display_name"] == "13 Rue Yves Toudic Paris"


# -- one secret per host: the hybrid model --------------------------------------------------


def test_the_multicommunal_wcs_signs_every_hosted_commune_with_its_one_secret(
        gw: Live, communes_wcs: Wcs, metz_wcs: Wcs) -> None:
    for commune in ("woippy", "paris"):
        resp = get(communes_wcs.sign_url_auto_orig(f"{gw.url}/{commune}/adresse/search?q=oozpuip"))
        assert resp.status_code == 200 and resp.json() == {"err": 0, "data": []}, resp.text
        # An endpoint needing a permission: the client is the multi-communal w.c.s.
        resp = get(communes_wcs.sign_url_auto_orig(f"{gw.url}/{commune}/echo/private"))
        assert resp.status_code == 200 and resp.json()["data"]["client"] == "communes.wcs", resp.text
    # Metz's w.c.s. is not granted on a hosted commune.
    resp = get(metz_wcs.sign_url_auto_orig(f"{gw.url}/woippy/echo/private"))
    assert resp.status_code == 403 and resp.json()["err_class"] == "raccord.forbidden"


# -- POST bodies ----------------------------------------------------------------------------


def post(url: str, headers: dict[str, str], body: bytes | None) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.post(url, data=body, headers=headers, timeout=30)


def test_post_data_arrives_unflattened(gw: Live, metz_wcs: Wcs) -> None:
    url, headers, body = metz_wcs.webservice_post(f"{gw.url}/metz/echo/form", post_data={
        "demandeur/nom": "Dupont", "demandeur/adresses/0/rue": "Rue Serpenoise",
        "demandeur/adresses/1/rue": "Rue des Clercs", "objet": "nid de poule"})
    resp = post(url, headers, body)
    assert resp.status_code == 200 and resp.headers["X-Error-Code"] == "0", resp.text
    assert resp.json()["data"]["body"] == {
        "demandeur": {"nom": "Dupont", "adresses": [{"rue": "Rue Serpenoise"}, {"rue": "Rue des Clercs"}]},
        "objet": "nid de poule"}


def test_post_formdata_with_scanned_attachments_in_base64(gw: Live, metz_wcs: Wcs) -> None:
    scans = {f"scan{n}.pdf": bytes([n]) * (2 * 1024 * 1024) for n in range(3)}  # 6 MiB, 8 MiB in base64
    fields = {f"piece_{n}": {"filename": name, "content_type": "application/pdf",
                             "content": base64.b64encode(data).decode()}
              for n, (name, data) in enumerate(scans.items())}
    export = {"id": "12-34", "display_id": "12-34", "receipt_time": "2026-12-01T10:00:00",
              "fields": {"nom": "Dupont", **fields}, "workflow": {"status": {"id": "1"}}}
    url, headers, body = metz_wcs.webservice_post(f"{gw.url}/metz/echo/form", formdata=export,
                                                  post_data={"motif": "travaux"})
    assert body is not None and len(body) > 8 * 1024 * 1024  # over the old 1 MiB limit
    resp = post(url, headers, body)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["keys"] == ["display_id", "extra", "fields", "id", "receipt_time", "workflow"]
    assert data["attachments"] == {name: len(content) for name, content in scans.items()}


def test_a_body_over_the_default_limit_is_413_before_it_is_read(gw: Live, metz_wcs: Wcs) -> None:
    url = metz_wcs.webservice_url(f"{gw.url}/metz/echo/form")
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        conn.putrequest("POST", f"{parsed.path}?{parsed.query}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(65 * 1024 * 1024))  # announced, never sent
        conn.endheaders()
        resp = conn.getresponse()
        payload = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 413 and payload["err_class"] == "raccord.payload_too_large"
    assert str(64 * 1024 * 1024) in payload["err_desc"]


# -- error semantics: err and status as w.c.s. reads them -----------------------------------


@pytest.mark.parametrize(("mode", "err_class"), [
    ("error", "raccord.upstream_error"),    # the business server answered 500
    ("html", "raccord.upstream_error"),     # … or an HTML page
    ("down", "raccord.unavailable"),        # circuit open / maintenance
    ("slow", "raccord.upstream_timeout"),   # no answer in time
    ("boom", "raccord.incident"),           # a bug: an incident id, never a traceback
])
def test_connector_level_errors_are_200_with_err_1(gw: Live, metz_wcs: Wcs, mode: str, err_class: str) -> None:
    # An application error for w.c.s.: action_on_app_error (':pass'), not action_on_5xx
    # (':stop'); its err_desc reaches w.c.s.'s logs.
    resp = get(metz_wcs.webservice_url(f"{gw.url}/metz/echo/upstream", {"mode": mode}))
    payload = resp.json()
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Error-Code"] == "1"
    assert payload["err"] == 1 and payload["err_class"] == err_class and payload["err_desc"]
    assert "data" in payload and "Traceback" not in resp.text


def test_a_connector_refusing_a_parameter_is_200_and_a_bad_parameter_type_is_400(
        gw: Live, metz_wcs: Wcs) -> None:
    resp = get(metz_wcs.webservice_url(f"{gw.url}/metz/adresse/reverse", {"lat": "", "lon": ""}))
    assert resp.status_code == 200 and resp.json()["err_class"] == "raccord.bad_request"
    assert "'lat' and 'lon' are required" in resp.json()["err_desc"]
    resp = get(metz_wcs.webservice_url(f"{gw.url}/metz/adresse/search", {"q": "rue", "limit": "beaucoup"}))
    assert resp.status_code == 400 and resp.json()["err"] == 1  # found before any connector code


@pytest.mark.parametrize(("method", "path", "signed", "status", "err_class"), [
    ("GET", "/metz/adresse/nowhere", True, 404, "raccord.not_found"),
    ("GET", "/nowhere/adresse/search", False, 404, "raccord.not_found"),
    ("GET", "/metz/echo/private", False, 401, "raccord.unauthorized"),
    ("GET", "/woippy/echo/private", True, 403, "raccord.forbidden"),  # Metz's w.c.s. on Woippy
    ("DELETE", "/metz/adresse/search", True, 405, "raccord.method_not_allowed"),
])
def test_framework_level_refusals_keep_their_status(gw: Live, metz_wcs: Wcs, method: str, path: str,
                                                    signed: bool, status: int, err_class: str) -> None:
    url = metz_wcs.webservice_url(gw.url + path) if signed else gw.url + path
    with requests.Session() as session:
        session.trust_env = False
        resp = session.request(method, url, timeout=10)
    assert resp.status_code == status, resp.text
    assert resp.json()["err"] == 1 and resp.json()["err_class"] == err_class
    assert resp.headers["X-Error-Code"] == "1"


def test_a_forged_signature_is_refused(gw: Live) -> None:
    forger = Wcs("demarches.metz.test", {"127.0.0.1": "not-the-secret"})
    resp = get(forger.sign_url_auto_orig(f"{gw.url}/metz/adresse/search?q=rue serpenoise"))
    assert resp.status_code == 401 and "does not match" in resp.json()["err_desc"]
