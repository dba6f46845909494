"""Schedules, their spread, the single leader, misfires, and `raccord sync`."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework.app import Raccord
from framework.errors import NotFound
from framework.runtime.queue import list_jobs
from framework.runtime.schedule import parse_schedule, stable_offset
from framework.runtime.scheduler import Scheduler, plan
from framework.runtime.sync import run_sync
from framework.runtime.triggers import timing
from tests.framework.runtime.helpers import SPAWN, open_raccord, scheduler_main, write_territory

ROOT = Path(__file__).resolve().parents[3]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_schedules_parse_and_bad_ones_say_what_is_accepted() -> None:
    assert parse_schedule("every 5m").period == 300
    assert parse_schedule("Every 2 hours").period == 7200
    assert parse_schedule("hourly").period == 3600 and parse_schedule("daily").period == 86400
    assert parse_schedule("30 2 * * 1-5").cron == "30 2 * * 1-5"
    with pytest.raises(ValueError, match="not understood: use"):
        parse_schedule("twice a day")
    with pytest.raises(ValueError, match="not a valid cron"):
        parse_schedule("99 2 * * *")


def test_offsets_are_stable_and_spread_1000_bindings_evenly() -> None:
    assert stable_offset("metz/adresse", "sync", 3600) == stable_offset("metz/adresse", "sync", 3600)
    hourly = parse_schedule("hourly")
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    minutes = Counter()
    for n in range(1000):
        t = timing(hourly, f"commune{n}/adresse", "sync")
        fire = t.trigger.get_next_fire_time(None, now)
        assert now <= fire < now + dt.timedelta(hours=1)
        assert t.slot(fire + dt.timedelta(seconds=42)) == fire  # a late fire keeps its slot
        minutes[fire.replace(second=0)] += 1
    # Even spread is 1000/60 ≈ 17 per minute; all at once would be 1000.
    assert len(minutes) == 60 and max(minutes.values()) <= 35


def test_cron_keeps_its_time_plus_a_stable_spread() -> None:
    t = timing(parse_schedule("0 3 * * *"), "metz/adresse", "sync", timezone=dt.UTC)
    fire = t.trigger.get_next_fire_time(None, dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC))
    assert fire == dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=t.offset)
    assert 0 <= t.offset < 900 and t.slot(fire + dt.timedelta(seconds=5)) == fire


def test_profile_config_overrides_schedule_and_disables_jobs(tmp_path: Path, sqlite_url: str) -> None:
    config = write_territory(tmp_path, jobs='[profiles.q.jobs.count]\nschedule = "every 10m"\n'
                                          '[profiles.q.jobs.broken]\nenabled = false\n')
    raccord = open_raccord(config, sqlite_url)
    try:
        planned = {(p.instance, p.job): p.timing.schedule.text for p in plan(raccord)}
    finally:
        raccord.close()
    assert planned[("metz", "count")] == "every 10m"
    assert planned[("woippy", "slow")] == "hourly"  # the connector's default
    assert ("metz", "broken") not in planned


def test_a_double_fire_of_one_slot_enqueues_once_and_misfires_are_caught_up(raccord: Raccord) -> None:
    scheduler = Scheduler(raccord)
    tick = next(p for p in plan(raccord) if p.instance == "metz" and p.job == "count")
    # Last fired a day ago, then the scheduler was down: one coalesced catch-up fire,
    # for the current slot, not 288 for every five minutes missed.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    scheduler.fire(tick, tick.timing.slot(long_ago))
    assert scheduler.catch_up(plan(raccord)) == 1
    assert scheduler.catch_up(plan(raccord)) == 0  # caught up: nothing more
    jobs = list_jobs(raccord.db, instance="metz", profile="q")
    assert len(jobs) == 2
    assert jobs[0].idempotency_key == f"schedule:count:{tick.timing.slot(dt.datetime.now(dt.UTC)).isoformat()}"
    # A second fire of the same slot (a restart, a lost lock race) enqueues nothing new.
    assert scheduler.fire(tick) == jobs[0].id
    assert len(list_jobs(raccord.db, instance="metz", profile="q")) == 2


def test_two_scheduler_processes_one_fires_and_the_other_takes_over(tmp_path: Path, database_url: str) -> None:
    # Only "tick" (every 1 s) is scheduled, so the test sees several slots quickly.
    disabled = "".join(f"[profiles.q.jobs.{j}]\nenabled = false\n"
                       for j in ("count", "slow", "broken", "import_streets", "push"))
    config = write_territory(tmp_path, jobs=disabled, instances=("metz",))
    options = {"standby_seconds": 0.2}
    stops = [SPAWN.Event(), SPAWN.Event()]
    fired = [SPAWN.Value("i", -1), SPAWN.Value("i", -1)]
    procs = [SPAWN.Process(target=scheduler_main, args=(str(config), database_url, stops[i], fired[i], options))
             for i in range(2)]
    raccord = open_raccord(config, database_url)
    try:
        procs[0].start()  # the first one leads...
        assert wait_for(lambda: len(list_jobs(raccord.db, limit=100)) >= 1)
        procs[1].start()  # ...the second waits on standby
        assert wait_for(lambda: len(list_jobs(raccord.db, limit=100)) >= 3)
        first_jobs = len(list_jobs(raccord.db, limit=100))
        stops[0].set()
        procs[0].join(timeout=20)
        led_first = fired[0].value
        assert wait_for(lambda: len(list_jobs(raccord.db, limit=100)) >= first_jobs + 2)
        stops[1].set()
        procs[1].join(timeout=20)
        ticks = list_jobs(raccord.db, limit=100)
    finally:
        for stop in stops:
            stop.set()
        raccord.close()
    assert led_first >= 3
    assert fired[1].value >= 2  # the standby took over
    counts = sorted(f.value for f in fired)
    assert all(proc.exitcode == 0 for proc in procs)
    # Every slot enqueued once (the unique key), and one scheduler fired at a time:
    # the total fired equals the jobs made, no fire was a wasted duplicate.
    assert len({j.idempotency_key for j in ticks}) == len(ticks)
    assert sum(counts) == len(ticks)
    assert all(j.kind == "periodic" and j.name == "tick" for j in ticks)


def test_exclusivity_in_one_process(tmp_path: Path, database_url: str) -> None:
    config = write_territory(tmp_path, instances=("metz",))
    a, b = open_raccord(config, database_url), open_raccord(config, database_url)
    try:
        first, second = Scheduler(a).leadership, Scheduler(b).leadership
        assert first.acquire() and not second.acquire()
        first.release()
        assert second.acquire()
        second.release()
    finally:
        a.close()
        b.close()


def test_sync_runs_a_job_now_with_progress(raccord: Raccord) -> None:
    seen: list[tuple[int, int | None]] = []
    result = run_sync(raccord, "metz", "q", "import_streets", progress=lambda d, t: seen.append((d, t)),
                      payload={"items": 30})
    assert result == {"imported": 30}
    assert seen[0] == (1, 30) and seen[-1] == (30, 30) and len(seen) == 30
    assert raccord.bound("metz", "q").connector.store.count("streets") == 30
    with pytest.raises(NotFound, match="has no job 'import_street'") as err:
        run_sync(raccord, "metz", "q", "import_street")
    assert err.value.hint == "did you mean 'import_streets'?"


def test_cli_sync_jobs_and_errors_on_the_example_territory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from framework.cli import cli

    monkeypatch.setenv("RACCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    runner = CliRunner()
    example = str(ROOT / "instances.toml")
    result = runner.invoke(cli, ["-c", example, "sync", "metz", "referentiel", "nope"])
    assert result.exit_code == 1
    assert "has no job 'nope'" in result.output and "━" not in result.output  # no progress bar drawn
    listed = runner.invoke(cli, ["-c", example, "jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "queue: empty" in listed.output
    retried = runner.invoke(cli, ["-c", example, "jobs", "retry", "42"])
    assert retried.exit_code == 1 and "does not exist" in retried.output
    purged = runner.invoke(cli, ["-c", example, "jobs", "purge", "--older-than", "7"])
    assert purged.exit_code == 0 and "purged 0 job(s)" in purged.output


def test_threads_of_a_background_service_stop_cleanly(config: Path, sqlite_url: str) -> None:
    from framework.plugins import make_plugin_manager
    from framework.runtime.service import start_background
    from tests.framework.runtime import plugin

    stop = threading.Event()
    pm = make_plugin_manager(plugins=[plugin], entry_points=False)
    threads = start_background(str(config), {"gateway", "worker", "scheduler"}, stop, database_url=sqlite_url, pm=pm)
    assert [t.name for t in threads] == ["raccord-worker-0", "raccord-worker-1", "raccord-scheduler", "raccord-closer"]
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive()


def test_a_scheduler_survives_a_database_hiccup(raccord: Raccord) -> None:
    """A failed lock attempt (PostgreSQL restarting) must not end the scheduler for good."""
    class Flaky:
        def __init__(self) -> None:
            self.attempts = 0

        def acquire(self) -> bool:
            self.attempts += 1
            if self.attempts == 1:
                raise OSError("connection refused")
            return False

        def still_held(self) -> bool:
            return False

        def release(self) -> None:
            pass

    flaky, stop = Flaky(), threading.Event()
    scheduler = Scheduler(raccord, standby_seconds=0.01, leadership=flaky)
    loop = threading.Thread(target=scheduler.run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while flaky.attempts < 3 and loop.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loop.is_alive() and flaky.attempts >= 3
    finally:
        stop.set()
        loop.join(10)
