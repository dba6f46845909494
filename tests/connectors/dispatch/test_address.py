"""Routing by address through the triage instance's base_adresse binding, against REAL
recorded BAN answers (tests/data/ban, see tests/data/SOURCES.md — one documented edit
adds the oldcitycode of a merged commune), replayed with ``responses``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from framework import JobRun
from framework.app import Raccord
from framework.testing import call, make_raccord
from tests.conftest import ROOT
from tests.connectors.test_base_adresse import ban

URL = "https://ban.test"
SEARCH = re.compile(rf"{URL}/search/.*")

TERRITORY = f"""
[territory]
name = "Test"
triage = "metropole"

[profiles.adresse]
connector = "base_adresse"
settings = {{ service_url = "{URL}", retries = 0 }}

[profiles.aiguillage]
connector = "dispatch"

[profiles.aiguillage.settings]
min_score = 0.6
competences = {{ voirie = "commune", eclairage_public = "metropole" }}

[profiles.demandes]
connector = "dispatch_inbox"

[instances.metropole]
name = "Métropole"
kind = "metropole"
profiles = ["adresse", "aiguillage", "demandes"]
settings = {{ adresse = {{ citycodes = ["75056", "46326"] }} }}

[instances.paris]
name = "Paris"
insee = ["75056"]
profiles = ["demandes"]

# Known by the delegated commune's former code (a referential from before the merger).
[instances.vaillac]
name = "Vaillac"
insee = ["46326"]
profiles = ["demandes"]
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Raccord]:
    runtime = make_raccord(TERRITORY, tmp_path)
    yield runtime
    runtime.close()


def route_elsewhere(text: str, tmp_path: Path, address: str) -> Any:
    """Route once in another territory (a variant of TERRITORY)."""
    (tmp_path / "other").mkdir()
    other = make_raccord(text, tmp_path / "other")
    try:
        return route(other, address)
    finally:
        other.close()


def route(app: Raccord, address: str, category: str = "voirie") -> Any:
    return app.invoke("metropole", "aiguillage", "route", method="POST",
                      body={"category": category, "address": address, "summary": address})


@responses.activate
def test_an_arrondissement_code_routes_to_its_commune(app: Raccord) -> None:
    responses.get(SEARCH, json=ban("geocoder_ban_data_gouv_fr_rue_yves_toudic.json"))
    answer = route(app, "13 rue yves toudic 75010 Paris")
    assert (answer["decided_by"], answer["responsible"]["instance"]) == ("address", "paris")
    assert answer["evidence"]["citycode"] == "75110"  # Paris 10e, mapped to 75056
    assert answer["evidence"]["label"] == "13 Rue Yves Toudic 75010 Paris"
    assert answer["evidence"]["score"] == pytest.approx(0.9437, abs=1e-4)
    assert answer["commune"]["insee"] == "75056"


@responses.activate
def test_a_merged_commune_routes_by_its_oldcitycode(app: Raccord, tmp_path: Path) -> None:
    responses.get(SEARCH, json=ban("geocoder_ban_data_gouv_fr_paris_with_oldcitycode.json"))
    # The best answer is Paris itself; a territory without Paris sees the Vaillac one first.
    answer = route_elsewhere(TERRITORY.replace('"75056"', '"75999"'), tmp_path, "paris vaillac")
    assert answer["responsible"]["instance"] == "vaillac"
    assert (answer["evidence"]["citycode"], answer["evidence"]["oldcitycode"]) == ("46138", "46326")
    assert answer["evidence"]["label"] == "PARIS (Vaillac) 46240 Cœur de Causse"


@responses.activate
def test_zero_results_go_to_triage(app: Raccord) -> None:
    responses.get(SEARCH, json=ban("geocoder_ban_data_gouv_fr_no_results.json"))
    answer = route(app, "oozpuip")
    assert answer["status"] == "triage" and answer["triage"]["reason"] == "no_match"


@responses.activate
def test_a_score_under_the_threshold_goes_to_triage_with_the_evidence(app: Raccord, tmp_path: Path) -> None:
    responses.get(SEARCH, json=ban("demarches_simplifiees_api_address_search_paris.json"))
    assert route(app, "Paris")["responsible"]["instance"] == "paris"  # score 0.97 ≥ 0.6
    answer = route_elsewhere(TERRITORY.replace("min_score = 0.6", "min_score = 0.99"), tmp_path, "Paris")
    assert answer["triage"]["reason"] == "low_score"
    assert answer["evidence"]["score"] == pytest.approx(0.9705, abs=1e-4) and answer["evidence"]["min_score"] == 0.99


@responses.activate
def test_an_address_outside_the_territory_goes_to_triage(app: Raccord) -> None:
    # Chevilly-Larue: the geocoder binding, scoped to the territory, finds nothing there.
    responses.get(SEARCH, json=ban("geocoder_ban_data_gouv_fr_reverse.json"))
    assert route(app, "4 rue du lieutenant alain le coz")["triage"]["reason"] == "no_match"


@responses.activate
def test_geocoder_down_is_triaged_kept_and_redispatched_once_it_is_back(app: Raccord) -> None:
    responses.get(SEARCH, body=requests.ConnectionError("connection refused"))
    down = route(app, "13 rue yves toudic 75010 Paris")
    assert down["status"] == "triage" and down["triage"]["reason"] == "geocoder_down"
    assert down["pending_geocoder"] is True
    assert [r["id"] for r in call(app, "metropole/aiguillage/triage")] == [down["id"]]
    bound = app.bound("metropole", "aiguillage")
    bound.jobs["redispatch"].func(bound.connector, JobRun())  # still down: nothing moves
    assert [r["id"] for r in call(app, "metropole/aiguillage/triage")] == [down["id"]]

    responses.replace(responses.GET, SEARCH, json=ban("geocoder_ban_data_gouv_fr_rue_yves_toudic.json"))
    bound.jobs["redispatch"].func(bound.connector, JobRun())
    assert call(app, "metropole/aiguillage/triage") == []
    moved = app.invoke("paris", "demandes", "inbox", path=str(down["id"]))
    assert (moved["status"], moved["decided_by"], moved["pending_geocoder"]) == ("new", "address", False)
    assert [(e["event"], e["actor"]) for e in moved["history"]] == [
        ("triaged", "anonymous"), ("redispatched", "raccord (geocoder back)")]
    stats = call(app, "metropole/aiguillage/stats")
    assert stats[0]["triage_reasons"] == {"geocoder_down": 1}


def test_the_redispatch_job_runs_every_five_minutes() -> None:
    from connectors.dispatch.connector import Dispatch
    from framework.connector import describe

    assert describe(Dispatch).jobs["redispatch"].schedule == "every 5m"


def test_an_unreadable_boundaries_file_sends_points_to_triage_without_losing_them(tmp_path: Path) -> None:
    boundaries = tmp_path / "communes.geojson"
    shutil.copy(ROOT / "data" / "metz_metropole_communes.geojson", boundaries)
    (tmp_path / "other").mkdir()
    text = TERRITORY.replace("min_score = 0.6", f'min_score = 0.6\nboundaries = "{boundaries}"')
    app = make_raccord(text, tmp_path / "other")  # valid when checked…
    try:
        boundaries.write_text("{}", encoding="utf-8")  # …broken afterwards
        os.utime(boundaries, (1, 1))
        answer = app.invoke("metropole", "aiguillage", "route", method="POST",
                            body={"category": "voirie", "point": {"lon": 6.1757, "lat": 49.1193}})
    finally:
        app.close()
    assert answer["status"] == "triage" and answer["triage"]["reason"] == "no_match"
