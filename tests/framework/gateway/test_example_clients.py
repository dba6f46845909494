"""The example territory's clients follow "one secret per host": each w.c.s. holds one
secret for raccord's host name and signs with orig = its front-office host name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.gateway.app import make_app
from tests.conftest import ROOT
from tests.framework.gateway.wcs_client import Wcs

SECRETS = {"RACCORD_COMMUNES_WCS_SECRET": "communes-secret", "RACCORD_METZ_WCS_SECRET": "metz-secret",
           "RACCORD_METROPOLE_WCS_SECRET": "metropole-secret"}
COMMUNES = Wcs("demarches-communes.metzmetropole.fr", {"raccord.test": "communes-secret"})
METZ = Wcs("demarches.metz.fr", {"raccord.test": "metz-secret"})
METROPOLE = Wcs("demarches.metzmetropole.fr", {"raccord.test": "metropole-secret"})


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    gw = make_app(ROOT / "instances.toml", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    yield gw
    gw.close()


def reaches(gw: Any, wcs: Wcs, instance: str) -> bool:
    """Whether the signed call authenticates as a client allowed on ``instance`` (the
    isolation every endpoint needing a permission applies)."""
    url = wcs.sign_url_auto_orig(f"http://raccord.test/{instance}/adresse/streets?q=rue")
    principal = gw.auth.authenticate({"QUERY_STRING": url.partition("?")[2]}, instance)
    assert principal is not None and principal.client.signature.orig == wcs.orig
    return bool(gw.auth.allowed(principal.client, instance))


def test_the_multicommunal_wcs_reaches_every_hosted_commune_and_nothing_else(example: Any) -> None:
    hosted = [n for n, i in example.territory.instances.items() if i.hosted_by == "communes"]
    assert len(hosted) == 43
    assert all(reaches(example, COMMUNES, name) for name in [*hosted, "communes"])
    assert not any(reaches(example, COMMUNES, own) for own in ("metz", "marly", "montigny-les-metz", "metropole"))


def test_an_own_instance_wcs_stays_home_and_the_metropolis_goes_where_granted(example: Any) -> None:
    assert reaches(example, METZ, "metz")
    assert not reaches(example, METZ, "woippy") and not reaches(example, METZ, "metropole")
    assert all(reaches(example, METROPOLE, n) for n in ("metropole", "communes", "metz", "marly"))
    assert not reaches(example, METROPOLE, "woippy")  # hosted communes are the communes' w.c.s.'s
