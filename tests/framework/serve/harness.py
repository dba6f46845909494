"""Running the real ``raccord serve`` in a subprocess, a fake business server that
counts deliveries, and a small territory using :mod:`tests.framework.serve.plugin`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import ROOT

API_KEY = "serve-test-key-0123456789"
SIGN_KEY = "serve-test-signing-secret"
RACCORD = str(Path(sys.executable).parent / "raccord")


def territory(server: str, instances: tuple[str, ...] = ("metz", "woippy")) -> str:
    blocks = ['[territory]\nname = "serve test"\n\n[runtime]\npoll_seconds = 0.2\nbackoff_seconds = 0.5\n\n'
              '[profiles.s]\nconnector = "serve_test"\n'
              '[profiles.s.settings]\nretries = 0\nbreaker_reset_seconds = 0.3\n']
    for name in instances:
        blocks.append(f"""
[instances.{name}]
name = "{name.title()}"
profiles = ["s"]
[instances.{name}.settings.s]
server = "{server}"
[instances.{name}.clients.wcs]
apikey = {{ env = "SERVE_TEST_KEY" }}
permissions = ["can_access"]
[instances.{name}.clients.portal]
signature = {{ orig = "portal.{name}.test", secret = {{ env = "SERVE_TEST_SIGN" }} }}
permissions = ["can_access"]
""")
    return "".join(blocks)


class Business:
    """A fake business server: counts ``POST /deliver`` by key; ``down`` makes it 503."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.down = False
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @Request.application  # type: ignore[arg-type]
    def _app(self, request: Request) -> Response:
        if self.down:
            return Response("{}", status=503, content_type="application/json")
        key = str(json.loads(request.get_data() or b"{}").get("key"))
        with self._lock:
            self.deliveries[key] += 1
        return Response(json.dumps({"ok": True}), content_type="application/json")

    def pushes(self) -> Counter[str]:
        with self._lock:
            return Counter({k: n for k, n in self.deliveries.items() if not k.startswith("tick-")})

    def ticks(self) -> set[str]:
        """Keys of the periodic job's runs recorded so far."""
        with self._lock:
            return {k for k in self.deliveries if k.startswith("tick-")}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def env_for(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_")}
    env.update(RACCORD_DATABASE_URL=database_url, RACCORD_PLUGINS="tests.framework.serve.plugin",
               SERVE_TEST_KEY=API_KEY, SERVE_TEST_SIGN=SIGN_KEY, PYTHONPATH=str(ROOT))
    return env


class Serve:
    """``raccord serve`` on ``config`` in ``workdir``, logging to ``workdir/serve.log``."""

    def __init__(self, config: Path, database_url: str, *, workdir: Path | None = None, workers: int = 1,
                 role: str = "all", wait: bool = True) -> None:
        self.config = config
        self.workdir = workdir or config.parent
        self.log = self.workdir / f"serve-{uuid.uuid4().hex[:8]}.log"
        self._out = self.log.open("wb")
        # Port 0: the kernel picks a free port (no race with other tests for a "free" one);
        # serve announces the URL once it listens.
        self.proc = subprocess.Popen(
            [RACCORD, "--config", str(config), "serve", "--port", "0", "--workers", str(workers),
             "--threads", "4", "--role", role],
            cwd=self.workdir, env=env_for(database_url), stdout=self._out, stderr=subprocess.STDOUT)
        self.session = requests.Session()
        self.session.trust_env = False
        self.port = 0
        wait_for(self._announced, 60, lambda: self.text()[-3000:])
        self.url = f"http://127.0.0.1:{self.port}"
        if wait:
            self.wait_ready()

    def _announced(self) -> bool:
        assert self.proc.poll() is None, self.text()[-3000:]
        found = re.search(r"raccord gateway on http://127\.0\.0\.1:(\d+)/", self.text())
        if found:
            self.port = int(found.group(1))
        return found is not None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 40) -> None:
        wait_for(lambda: self.ready(), timeout, lambda: self.text()[-3000:])

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.text()[-3000:]
        try:
            return self.get("/readyz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.session.get(self.url + path, **kw)

    def push(self, key: str, instance: str = "metz", **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.session.post(f"{self.url}/{instance}/s/push", json={"key": key},
                                 headers={"X-API-Key": API_KEY}, **kw)

    def signed_path(self, instance: str = "metz") -> str:
        """A signed call of ``hello`` (a fresh nonce each time)."""
        from tests.framework.gateway.signer import sign

        return f"/{instance}/s/hello?" + sign(f"orig=portal.{instance}.test", SIGN_KEY)

    def children(self) -> list[int]:
        return children_of(self.proc.pid)

    def background_pid(self) -> int:
        return background_of(self.proc.pid)

    def stop(self) -> None:
        self.session.close()
        stop_process(self.proc)
        self._out.close()


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def background_of(master: int) -> int:
    found = [p for p in children_of(master) if "background_main" in cmdline(p)]
    assert len(found) == 1, found
    return found[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (a `raccord serve` drains in-flight calls and jobs), then SIGKILL after 40 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_for(condition: Callable[[], bool], timeout: float, describe: Callable[[], str] = lambda: "",
             interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s: {describe()}"
        time.sleep(interval)


@contextmanager
def business() -> Iterator[Business]:
    server = Business()
    try:
        yield server
    finally:
        server.close()


def write_config(tmp_path: Path, server: str, instances: tuple[str, ...] = ("metz", "woippy")) -> Path:
    path = tmp_path / "instances.toml"
    path.write_text(territory(server, instances), encoding="utf-8")
    return path
