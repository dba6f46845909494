"""`raccord serve` on the example territory, as `make run` starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from framework.testing import free_port
from tests.conftest import ROOT

EXAMPLE = ROOT / "instances.toml"


def test_make_run_starts_with_no_secret_set(tmp_path: Path) -> None:
    """`raccord --config instances.toml serve` on the example territory with none of its
    secret environment variables set: it serves (those clients just cannot log in)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_")}
    env["RACCORD_DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "raccord"), "--config", str(EXAMPLE), "serve",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--role", "gateway"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with requests.Session() as s:
            s.trust_env = False
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    resp = s.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                    break
                except requests.RequestException:  # not up yet, or slow on a loaded machine
                    assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                    time.sleep(0.1)
            assert resp.status_code == 200
            assert s.get(f"http://127.0.0.1:{port}/metz/", timeout=5).json()["err"] == 0
            resp = s.get(f"http://127.0.0.1:{port}/metropole/referentiel/data?q=metz", timeout=5)
            assert resp.status_code == 200 and resp.json()["data"]
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
    out = (tmp_path / "serve.log").read_text()
    assert "cannot authenticate until their secret is set" in out
    assert out.count("cannot authenticate until their secret is set") == 1


def test_background_roles_start_and_stop_with_serve(tmp_path: Path) -> None:
    """`--role worker`: the runtime's roles run in a fresh child process that stops
    when `serve` gets SIGTERM, without a traceback."""
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_")}
    env["RACCORD_DATABASE_URL"] = f"sqlite:///{tmp_path / 'bg.sqlite3'}"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "raccord"), "--config", str(EXAMPLE), "serve",
                             "--role", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    time.sleep(3)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=40)
    text = out.decode()
    assert "Traceback" not in text and "internal error" not in text, text
