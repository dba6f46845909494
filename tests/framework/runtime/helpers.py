"""Territories and process entry points shared by the runtime tests."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path
from typing import Any

from framework.app import Raccord
from framework.plugins import make_plugin_manager
from framework.runtime.scheduler import Scheduler
from framework.runtime.worker import run_worker
from tests.framework.runtime import plugin

SPAWN = multiprocessing.get_context("spawn")


def territory(out_dir: Path, *, server: str = "", instances: tuple[str, ...] = ("metz", "woippy"),
              jobs: str = "", runtime: str = "") -> str:
    blocks = [f"""
[territory]
name = "test"

[runtime]
{runtime}

[profiles.q]
connector = "queue_test"
{jobs}
[profiles.q.settings]
retries = 0
breaker_reset_seconds = 0.3
"""]
    for name in instances:
        blocks.append(f"""
[instances.{name}]
name = "{name.title()}"
profiles = ["q"]
[instances.{name}.settings.q]
out_dir = "{out_dir}"
server = "{server}"
token = {{ env = "QUEUE_TEST_TOKEN" }}
""")
    return "".join(blocks)


def write_territory(tmp_path: Path, **kwargs: Any) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    path = tmp_path / "instances.toml"
    path.write_text(territory(out, **kwargs), encoding="utf-8")
    return path


def open_raccord(config: Path | str, database_url: str) -> Raccord:
    pm = make_plugin_manager(plugins=[plugin], entry_points=False)
    return Raccord.open(config, database_url=database_url, pm=pm)


def worker_main(config: str, database_url: str, stop: Any, options: dict[str, Any]) -> None:
    """A worker process (spawned): runs until ``stop`` is set or it is killed."""
    logging.getLogger("raccord").setLevel(logging.ERROR)  # expected failures: keep test output quiet
    raccord = open_raccord(config, database_url)
    try:
        run_worker(raccord, stop, **options)
    finally:
        raccord.close()


def scheduler_main(config: str, database_url: str, stop: Any, fired: Any, options: dict[str, Any]) -> None:
    """A scheduler process (spawned): reports how many fires it made in ``fired``."""
    raccord = open_raccord(config, database_url)
    scheduler = Scheduler(raccord, **options)
    try:
        scheduler.run(stop)
    finally:
        fired.value = scheduler.fired
        raccord.close()


def start_workers(config: Path, database_url: str, count: int, stop: Any, **options: Any) -> list[Any]:
    procs = [SPAWN.Process(target=worker_main, args=(str(config), database_url, stop, options), daemon=True)
             for _ in range(count)]
    for proc in procs:
        proc.start()
    return procs


def executions(out_dir: Path, name: str) -> list[str]:
    lines: list[str] = []
    for file in sorted(out_dir.glob(f"{name}-*.txt")):
        lines.extend(file.read_text(encoding="utf-8").split())
    return lines
