"""The example territory's clients follow "one secret per host": each w.c.s. holds one
secret for raccord's host name and signs with orig = its front-office host name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

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


def status(client: Client, wcs: Wcs, instance: str) -> int:
    # streets answers from the store: no BAN call needed to see who may call.
    url = wcs.sign_url_auto_orig(f"http://raccord.test/{instance}/adresse/streets?q=rue")
    return client.get(url.removeprefix("http://raccord.test")).status_code


def test_the_multicommunal_wcs_reaches_every_hosted_commune_and_nothing_else(example: Any) -> None:
    client = Client(example)
    hosted = [n for n, i in example.territory.instances.items() if i.hosted_by == "communes"]
    assert len(hosted) == 43
    assert {status(client, COMMUNES, name) for name in hosted} == {200}
    assert status(client, COMMUNES, "communes") == 200
    for own in ("metz", "marly", "montigny-les-metz", "metropole"):
        assert status(client, COMMUNES, own) == 403


def test_an_own_instance_wcs_stays_home_and_the_metropolis_goes_where_granted(example: Any) -> None:
    client = Client(example)
    assert status(client, METZ, "metz") == 200
    assert status(client, METZ, "woippy") == 403 and status(client, METZ, "metropole") == 403
    assert {status(client, METROPOLE, n) for n in ("metropole", "communes", "metz", "marly")} == {200}
    assert status(client, METROPOLE, "woippy") == 403  # hosted communes are the communes' w.c.s.'s
