"""Gateway fixtures: the fake business server, the test territory, the gateway both
in process (Werkzeug test client, fast) and under its real server (gunicorn in a
subprocess on a free loopback port)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from framework.plugins import make_plugin_manager
from framework.testing import free_port
from framework.testing.live import LiveGateway
from tests.conftest import ROOT
from tests.framework.gateway import fakes


@pytest.fixture(scope="session")
def upstream() -> Iterator[str]:
    with fakes.fake_upstream() as url:
        yield url


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in fakes.SECRETS.items():
        monkeypatch.setenv(name, value)


class Live(LiveGateway):
    """The test kit's live gateway with the gateway tests' connector and secrets."""

    def __init__(self, config: Path, db_url: str, workers: int = 2, preamble: str = "",
                 env: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.db_url = db_url
        super().__init__(config, db_url, workers=workers, threads=4, plugins=["tests.framework.gateway.fakes"],
                         env={**fakes.SECRETS, **(env or {}), "PYTHONPATH": str(ROOT)}, preamble=preamble,
                         cwd=ROOT, log_dir=log_dir)


@pytest.fixture(scope="session")
def territory_file(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gw") / "instances.toml"
    path.write_text(fakes.territory_toml(upstream), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def live(territory_file: Path) -> Iterator[Live]:
    server = Live(territory_file, f"sqlite:///{territory_file.parent / 'live.sqlite3'}")
    yield server
    server.stop()


def make_gateway(config: Path, db_url: str, plugins: list[object] | None = None) -> Any:
    from framework.gateway.app import make_app

    pm = make_plugin_manager(plugins=[fakes, *(plugins or [])], entry_points=False)
    return make_app(config, database_url=db_url, pm=pm)


@pytest.fixture
def gateway(territory_file: Path, tmp_path: Path) -> Iterator[Any]:
    gw = make_gateway(territory_file, f"sqlite:///{tmp_path / 'gw.sqlite3'}")
    yield gw
    gw.close()


@pytest.fixture
def client(gateway: Any) -> Client:
    return Client(gateway)


@pytest.fixture(scope="session")
def example_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The example territory (instances.toml) under gunicorn, as an admin sees it: its
    admin client, the address server of every instance unreachable (a closed local
    port), Woippy's override past its review date and one dead letter."""
    import datetime as dt

    from sqlalchemy import update

    from framework.runtime import queue
    from framework.storage import open_database
    from framework.storage.schema import jobs

    folder = tmp_path_factory.mktemp("example")
    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    replacements = {
        'service_url = "https://api-adresse.data.gouv.fr"': f'service_url = "http://127.0.0.1:{free_port()}"',
        "review_by = 2027-06-30": "review_by = 2026-01-31",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    text += ('\n[instances.metropole.clients.lecteur]\nbasic = { username = "lecteur", password = '
             '{ env = "RACCORD_TEST_READER_PASSWORD" } }\npermissions = ["can_access"]\n')
    config = folder / "instances.toml"
    config.write_text(text, encoding="utf-8")
    (folder / "data").symlink_to(ROOT / "data")  # the example's files, relative to instances.toml
    db_url = f"sqlite:///{folder / 'example.sqlite3'}"
    os.environ["RACCORD_METROPOLE_ADMIN_PASSWORD"] = "admin-password-for-tests"
    os.environ["RACCORD_TEST_READER_PASSWORD"] = "reader-password"
    server = Live(config, db_url)
    db = open_database(db_url)
    job = queue.enqueue(db, "metropole", "referentiel", "sync", {"n": 1}, max_attempts=3)
    with db.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job).values(
            status="dead", attempts=3, error="the référentiel server refused the push (HTTP 503)",
            updated_at=dt.datetime.now(dt.UTC)))
    db.dispose()
    server.dead_job = job
    yield server
    server.stop()
