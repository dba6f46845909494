"""Gateway fixtures: the fake business server, the test territory, the gateway both
in process (Werkzeug test client, fast) and under its real server (gunicorn in a
subprocess on a free loopback port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.test import Client

from framework.plugins import make_plugin_manager
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live:
    """A gateway under gunicorn in a subprocess."""

    def __init__(self, config: Path, db_url: str, workers: int = 2, preamble: str = "",
                 env: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        # ``preamble`` runs in the server's master before the workers fork (tests use it to
        # serve a test module as a contrib.* override).
        code = (f"{preamble}\nimport sys; from framework.gateway.server import serve; "
                f"serve({str(config)!r}, host='127.0.0.1', port={self.port}, workers={workers}, "
                f"threads=4, plugins=['tests.framework.gateway.fakes'], database_url={db_url!r})")
        env = {**os.environ, **fakes.SECRETS, **(env or {}), "PYTHONPATH": str(ROOT)}
        self.log = (log_dir or config.parent) / f"gunicorn-{self.port}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.session = requests.Session()
        self.session.trust_env = False
        try:
            self._wait()
        except BaseException:  # never leave a server behind a failed start
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log.read_text()[-3000:]}")
            try:
                if self.session.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded machine
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not start: {self.log.read_text()[-3000:]}")

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=10, **kw)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=10, **kw)

    def stop(self) -> None:
        self.session.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


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
