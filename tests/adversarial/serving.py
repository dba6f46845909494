"""``raccord serve`` in a subprocess for the adversarial suites (its stdout and stderr
kept apart, in files), and the example territory (instances.toml) rewritten so that every
business server it would call is a local one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from framework.testing import free_port
from tests.conftest import ROOT
from tests.framework.gateway import example as ex
from tests.framework.serve.harness import stop_process, wait_for

RACCORD = str(Path(sys.executable).parent / "raccord")


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RACCORD_", "PROMETHEUS_"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


class Served:
    """``raccord serve`` on ``config`` with ``env``; output in ``workdir/serve.{out,err}``."""

    def __init__(self, config: Path, env: Mapping[str, str], *, workdir: Path, workers: int = 1,
                 threads: int = 4, timeout: float = 60) -> None:
        self.workdir = workdir
        self.out, self.err = workdir / "serve.out", workdir / "serve.err"
        self._files = (self.out.open("wb"), self.err.open("wb"))
        self.proc = subprocess.Popen(
            [RACCORD, "--config", str(config), "serve", "--port", "0", "--workers", str(workers),
             "--threads", str(threads)], cwd=workdir, env=dict(env), stdout=self._files[0], stderr=self._files[1])
        self.session = requests.Session()
        self.session.trust_env = False
        self.port = 0
        try:
            wait_for(self._announced, timeout, lambda: self.text()[-3000:])
            self.url = f"http://127.0.0.1:{self.port}"
            wait_for(self._ready, timeout, lambda: self.text()[-3000:])
        except BaseException:
            self.stop()
            raise

    def text(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def _announced(self) -> bool:
        assert self.proc.poll() is None, self.text()[-3000:]
        found = re.search(r"raccord gateway on http://127\.0\.0\.1:(\d+)/", self.text())
        if found:
            self.port = int(found.group(1))
        return found is not None

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.text()[-3000:]
        try:
            return self.session.get(f"{self.url}/readyz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 15)
        return self.session.request(method, self.url + path, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def stop(self) -> None:
        self.session.close()
        stop_process(self.proc)
        for f in self._files:
            f.close()


def local_example(folder: Path, upstream: str, *, extra: str = "") -> Path:
    """instances.toml with every business server local: the BAN and Open311 servers at
    ``upstream``, PayFiP at a closed port, SMTP at a closed port. Periodic jobs are
    spread over a day (none fires during a test); HTTP error statuses."""
    text = ex.EXAMPLE.read_text(encoding="utf-8")
    closed = f"http://127.0.0.1:{free_port()}"
    text = text.replace('service_url = "https://api-adresse.data.gouv.fr"', f'service_url = "{upstream}/ban"')
    text = re.sub(r'endpoint_url = "https://[^"]+"', f'endpoint_url = "{upstream}/open311/v2/"', text)
    text = re.sub(r'(service_url|payment_url) = "https://www\.payfip[^"]+"', rf'\1 = "{closed}/payfip"', text)
    text = re.sub(r'host = "smtp\.[^"]+"', f'host = "127.0.0.1"\nport = {free_port()}', text)
    assert "https://api-adresse" not in text and "gmao" not in text and "smtp." not in text
    text += ("\n[runtime]\nworkers = 1\npoll_seconds = 0.5\nbackoff_seconds = 3600\n"
             "health_check_interval = 86400\n" + extra)
    config = folder / "instances.toml"
    config.write_text(text, encoding="utf-8")
    (folder / "data").symlink_to(ROOT / "data")  # the example's files, relative to instances.toml
    return config


def example_env(folder: Path) -> dict[str, str]:
    """The environment of ``raccord serve`` on the example: every client's secret, SQLite in ``folder``."""
    return clean_env({**ex.SECRETS, "RACCORD_DATABASE_URL": f"sqlite:///{folder / 'raccord.sqlite3'}"})
