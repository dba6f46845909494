"""The real gateway under gunicorn, on a free loopback port, for end-to-end tests.

:class:`LiveGateway` starts ``framework.gateway.server.serve`` in a subprocess (the
production server: gunicorn gthread workers forked from a master that validated the
configuration), waits until ``/readyz`` answers 200, and stops it at the end::

    with LiveGateway(config_path, database_url) as live:
        answer = live.get("/metz/adresse/search", params={"q": "rue"})
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveGateway:
    """A gateway under gunicorn in a subprocess (see the module docstring)."""

    def __init__(self, config: str | Path, database_url: str, *, workers: int = 1, threads: int = 4,
                 plugins: Sequence[str] = (), env: Mapping[str, str] | None = None,
                 preamble: str = "", cwd: str | Path | None = None, start_timeout: float = 30.0,
                 log_dir: str | Path | None = None) -> None:
        config = Path(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        # ``preamble`` runs in the master before the workers fork (e.g. to put a test
        # module on sys.path as a contrib.* override).
        code = (f"{preamble}\nfrom framework.gateway.server import serve; "
                f"serve({str(config)!r}, host='127.0.0.1', port={self.port}, workers={workers}, "
                f"threads={threads}, plugins={list(plugins)!r}, database_url={database_url!r})")
        # Beside the configuration would litter a checkout when a test serves its example.
        logs = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="raccord-live-"))
        self.log = logs / f"gateway-{self.port}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(cwd or config.parent),
                                     env={**os.environ, **(env or {})},
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy between a test and 127.0.0.1
        try:
            self._wait(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self.log_text()[-3000:]}")
            try:
                if self.session.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or slow on a busy machine
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the gateway did not become ready: {self.log_text()[-3000:]}")

    def log_text(self) -> str:
        """What the server wrote so far (gunicorn and raccord logs)."""
        self._log.flush()
        return self.log.read_text(errors="replace")

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        self.session.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> LiveGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
