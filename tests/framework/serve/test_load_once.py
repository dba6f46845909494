"""`raccord serve` loads the territory once, in the master: the gateway workers it forks
inherit it (copy-on-write, frozen out of the garbage collector) and never parse the
file; a good SIGHUP makes the master load it again, still not the workers (issue #14)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.framework.serve.harness import API_KEY, Serve, business, cmdline, wait_for, write_config
from tests.framework.serve.plugin import LOADS_ENV


def loaders(path: Path) -> list[int]:
    """The pid of each process that loaded the territory, once per load."""
    return [int(line) for line in path.read_text(encoding="utf-8").split()] if path.exists() else []


def gateway_workers(serve: Serve) -> set[int]:
    return {p for p in serve.children() if "background_main" not in cmdline(p)}


def serving(serve: Serve, instance: str = "metz") -> dict[str, int]:
    """The process and freeze count of a gateway worker (whichever answers)."""
    answer = serve.get(f"/{instance}/s/process", headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


def test_the_workers_inherit_the_masters_load_and_a_reload_loads_in_the_master_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = tmp_path / "loads.txt"
    monkeypatch.setenv(LOADS_ENV, str(loads))  # passed on to serve and its children
    with business() as shop:
        config = write_config(tmp_path, shop.url)
        serve = Serve(config, f"sqlite:///{tmp_path / 'db.sqlite3'}", workers=2)
        try:
            master, background = serve.proc.pid, serve.background_pid()
            wait_for(lambda: len(gateway_workers(serve)) == 2, 30, serve.text)
            first = gateway_workers(serve)
            answered = {serving(serve)["pid"] for _ in range(20)}
            assert answered <= first
            # The master once; the background process (a fresh interpreter, by design: no
            # scheduler thread or pooled connection may cross a fork) once; no worker.
            assert sorted(loaders(loads)) == sorted([master, background])
            assert serving(serve)["frozen"] > 10_000  # the territory came frozen from the master

            write_config(tmp_path, shop.url, ("metz", "woippy", "marly"))
            serve.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: serve.get("/marly/").status_code == 200, 30, serve.text)
            wait_for(lambda: len(gateway_workers(serve)) == 2 and not gateway_workers(serve) & first, 30,
                     serve.text)
            assert serving(serve, "marly")["frozen"] > 10_000
            again = loaders(loads)
            assert again.count(master) == 2  # validated before the reload, in the master
            assert not set(again) & (first | gateway_workers(serve))  # never in a gateway worker
        finally:
            serve.stop()
