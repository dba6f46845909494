"""`raccord serve` supervises its roles: SIGKILL of the background process, of a
gateway worker and of the master (the fault tests of issue 10, on SQLite)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.framework.serve.harness import Serve, alive, background_of, business, wait_for, write_config


def test_background_process_killed_is_restarted_and_delivers_the_queue(tmp_path: Path) -> None:
    """SIGKILL of the background process (job workers + scheduler): /readyz says 503 at
    once, the process is back within seconds, and the jobs queued meanwhile are delivered."""
    with business() as shop:
        serve = Serve(write_config(tmp_path, shop.url), f"sqlite:///{tmp_path / 'db.sqlite3'}")
        try:
            first = serve.background_pid()
            os.kill(first, signal.SIGKILL)
            killed_at = time.monotonic()
            wait_for(lambda: serve.get("/readyz").status_code == 503, 5, serve.text)
            body = serve.get("/readyz").json()
            assert body["err_class"] == "raccord.unavailable"
            assert body["data"]["worker"] == "not running" and body["data"]["scheduler"] == "not running"
            accepted = [serve.push(f"k{i}") for i in range(20)]  # queued while nobody works
            assert [r.status_code for r in accepted] == [202] * 20
            wait_for(serve.ready, 20, serve.text)
            assert time.monotonic() - killed_at < 20
            assert background_of(serve.proc.pid) != first
            wait_for(lambda: len(shop.pushes()) == 20, 20, lambda: str(shop.pushes()))
            assert set(shop.pushes().values()) == {1}
            assert "died (signal SIGKILL); restart 1" in serve.text()
        finally:
            serve.stop()


def test_gateway_worker_killed_is_replaced(tmp_path: Path) -> None:
    with business() as shop:
        serve = Serve(write_config(tmp_path, shop.url), f"sqlite:///{tmp_path / 'db.sqlite3'}", role="gateway")
        try:
            (worker,) = serve.children()
            os.kill(worker, signal.SIGKILL)
            wait_for(lambda: serve.children() not in ([], [worker]), 10, serve.text)
            wait_for(serve.ready, 10, serve.text)
            assert serve.get("/healthz").status_code == 200
            assert serve.proc.poll() is None
        finally:
            serve.stop()


def test_master_killed_leaves_no_orphan_and_a_restart_runs_one(tmp_path: Path) -> None:
    """SIGKILL of the serve master: its gateway worker and background process exit within
    seconds (no orphan keeps claiming jobs); a new serve then runs exactly one of each."""
    with business() as shop:
        config = write_config(tmp_path, shop.url)
        url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        serve = Serve(config, url)
        try:
            tree = serve.children()
            assert len(tree) == 2  # one gateway worker, one background process
            serve.proc.send_signal(signal.SIGKILL)
            serve.proc.wait(5)
            wait_for(lambda: not any(alive(p) for p in tree), 15, lambda: str([p for p in tree if alive(p)]))
        finally:
            serve.stop()
        again = Serve(config, url)
        try:
            assert len(again.children()) == 2
            background_of(again.proc.pid)  # exactly one
            assert again.push("after-restart").status_code == 202
            wait_for(lambda: shop.pushes()["after-restart"] == 1, 15, again.text)
        finally:
            again.stop()
