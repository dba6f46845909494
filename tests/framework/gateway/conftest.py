"""Gateway fixtures: the fake business server, the test territory, the gateway both
in process (Werkzeug test client, fast) and under its real server (gunicorn in a
subprocess on a free loopback port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from framework.plugins import make_plugin_manager
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
