"""Through the running gateway (gunicorn): an override changes its commune's answers,
flagged with X-Raccord-Override, and no other commune's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.conftest import ROOT
from tests.framework.gateway import fakes
from tests.framework.gateway.conftest import Live

PREAMBLE = ("import sys, tests.framework.gateway.live_override as m; "
            "sys.modules['contrib.gw_live'] = m")


def test_an_endpoint_replaced_for_one_instance(upstream: str, tmp_path: Path) -> None:
    config = tmp_path / "instances.toml"
    config.write_text(fakes.territory_toml(upstream) + """
[instances.beta.overrides.echo]
plugin = "contrib.gw_live"
reason = "beta's ticketing answers in its own shape"
owner = "DSI beta"
""", encoding="utf-8")
    live = Live(config, f"sqlite:///{tmp_path / 'live.sqlite3'}", workers=1, preamble=PREAMBLE)
    try:
        beta = live.get("/beta/echo/echo?q=rue", headers={"X-API-Key": fakes.SECRETS["GW_BETA_KEY"]})
        alpha = live.get("/alpha/echo/echo?q=rue", headers={"X-API-Key": fakes.SECRETS["GW_ALPHA_KEY"]})
        gamma = live.get("/gamma/echo/echo?q=rue")
    finally:
        live.stop()
    assert beta.status_code == 200 and beta.headers["X-Raccord-Override"] == "beta/echo"
    assert beta.json() == {"err": 0, "data": {"overridden_for": "beta", "q": "rue"}}
    for other, name in ((alpha, "alpha"), (gamma, "gamma")):
        assert other.status_code == 200 and "X-Raccord-Override" not in other.headers
        assert other.json()["data"]["instance"] == name and "overridden_for" not in other.json()["data"]


def _ban_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A fake BAN /search/: one housenumber in the asked commune (BAN's answer shape)."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    code = query.get("citycode", ["57463"])[0]
    city = {"57751": ("Woippy", "57140"), "57463": ("Metz", "57000")}.get(code, ("Ailleurs", "00000"))
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.15, 49.15]},
               "properties": {"label": f"1 Rue de l'Église {city[1]} {city[0]}", "score": 0.95,
                              "housenumber": "1", "id": f"{code}_0420_00001", "name": "1 Rue de l'Église",
                              "postcode": city[1], "citycode": code, "x": 931000.0, "y": 6899000.0,
                              "city": city[0], "context": "57, Moselle, Grand Est", "type": "housenumber",
                              "importance": 0.6, "street": "Rue de l'Église"}}
    body = json.dumps({"type": "FeatureCollection", "version": "draft", "features": [feature],
                       "query": query.get("q", [""])[0]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def fake_ban() -> Iterator[str]:
    with fakes.serve_wsgi(_ban_app) as url:
        yield url


def test_the_example_territory_woippy_override_through_the_gateway(fake_ban: str, tmp_path: Path) -> None:
    # The real example, with the address service pointed at a local fake BAN.
    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    text = text.replace('service_url = "https://api-adresse.data.gouv.fr"', f'service_url = "{fake_ban}"', 1)
    text = text.replace('path = "data/', f'path = "{ROOT}/data/', 1)
    text = text.replace('boundaries = "data/', f'boundaries = "{ROOT}/data/', 1)
    assert fake_ban in text
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    live = Live(config, f"sqlite:///{tmp_path / 'live.sqlite3'}", workers=1)
    try:
        woippy = live.get("/woippy/adresse/search?q=1+rue+de+l+eglise")
        metz = live.get("/metz/adresse/search?q=1+rue+de+l+eglise")
        listing = live.get("/woippy/").json()["data"]
    finally:
        live.stop()
    assert woippy.status_code == 200, woippy.text
    assert woippy.headers["X-Raccord-Override"] == "woippy/adresse"
    assert [i["text"] for i in woippy.json()["data"]] == ["1 RUE DE L EGLISE 57140 WOIPPY"]
    assert metz.status_code == 200 and "X-Raccord-Override" not in metz.headers
    assert [i["text"] for i in metz.json()["data"]] == ["1 Rue de l'Église 57000 Metz"]
    assert [o["id"] for o in listing["overrides"]] == ["woippy/adresse"]
