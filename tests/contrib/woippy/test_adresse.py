"""Woippy's declared override of ``adresse``, on the repository's own instances.toml:
Woippy's labels change, another commune's do not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from contrib.woippy.adresse import la_poste_label
from framework import JobRun
from framework.app import Raccord

ROOT = Path(__file__).resolve().parents[3]
SEARCH = re.compile(r"https://api-adresse\.data\.gouv\.fr/search/.*")


def feature(label: str, citycode: str, postcode: str, city: str, kind: str = "housenumber") -> dict[str, Any]:
    """A feature shaped like the BAN's (tests/data/ban); these addresses are made up."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.15, 49.15]},
            "properties": {"label": label, "score": 0.9, "id": f"{citycode}_x_{len(label)}", "type": kind,
                           "name": label.split(f" {postcode}")[0], "postcode": postcode, "citycode": citycode,
                           "city": city, "context": "57, Moselle, Grand Est"}}


ANSWER = {"type": "FeatureCollection", "features": [
    feature("1 Rue de l'Église 57140 Woippy", "57751", "57140", "Woippy"),
    feature("1 Rue de l'Église 57000 Metz", "57463", "57000", "Metz"),
]}


@pytest.fixture
def raccord(tmp_path: Path) -> Iterator[Raccord]:
    r = Raccord.open(ROOT / "instances.toml", database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}")
    yield r
    r.close()


def test_woippy_labels_follow_la_poste_and_its_own_limit(raccord: Raccord) -> None:
    with responses.RequestsMock() as ban:
        ban.get(SEARCH, json=ANSWER, match=[matchers.query_param_matcher(
            {"q": "rue de l eglise", "limit": "15", "citycode": "57751"})])
        items = raccord.invoke("woippy", "adresse", "search", params={"q": "rue de l eglise"})
    assert [i["text"] for i in items] == ["1 RUE DE L EGLISE 57140 WOIPPY"]
    # Only the label changes: the BAN's own properties are untouched.
    assert items[0]["label"] == "1 Rue de l'Église 57140 Woippy"


def test_another_commune_keeps_the_common_label_and_limit(raccord: Raccord) -> None:
    with responses.RequestsMock() as ban:
        ban.get(SEARCH, json=ANSWER, match=[matchers.query_param_matcher(
            {"q": "rue de l eglise", "limit": "10", "citycode": "57463"})])
        items = raccord.invoke("metz", "adresse", "search", params={"q": "rue de l eglise"})
    assert [i["text"] for i in items] == ["1 Rue de l'Église 57000 Metz"]


def test_the_override_is_recorded_and_reaches_the_street_sync(raccord: Raccord) -> None:
    bound = raccord.bound("woippy", "adresse")
    assert bound.override is not None
    assert [(c.kind, c.target) for c in bound.override.changes] == [("set_extension", "format_label")]
    assert raccord.bound("marly", "adresse").override is None
    street = feature("Rue de Metz 57140 Woippy", "57751", "57140", "Woippy", kind="street")
    with responses.RequestsMock() as ban:
        ban.get(SEARCH, json={"type": "FeatureCollection", "features": [street]})
        bound.jobs["sync_streets"].func(bound.connector, JobRun())
    found = raccord.invoke("woippy", "adresse", "streets", params={"q": "metz"})
    assert [s["text"] for s in found] == ["RUE DE METZ 57140 WOIPPY"]


@pytest.mark.parametrize(("label", "expected"), [
    ("13 Rue Yves Toudic 75010 Paris", "13 RUE YVES TOUDIC 75010 PARIS"),
    ("2 Allée des Œillets 57140 Woippy", "2 ALLEE DES OEILLETS 57140 WOIPPY"),
    ("Chemin d’Aspremont-Lès-Bois 57140 Woippy", "CHEMIN D ASPREMONT LES BOIS 57140 WOIPPY"),
])
def test_la_poste_label(label: str, expected: str) -> None:
    assert la_poste_label(None, {"label": label}) == expected  # type: ignore[arg-type]
