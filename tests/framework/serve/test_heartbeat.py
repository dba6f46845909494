"""Heartbeats and the supervisor's restart count, in the database (every process and
machine reads them)."""

from __future__ import annotations

import datetime as dt

from framework.runtime import heartbeat
from framework.storage import open_database


def test_a_role_is_running_while_its_heartbeat_is_fresh(database_url: str) -> None:
    db = open_database(database_url)
    try:
        assert heartbeat.missing(db, "host:1", {"worker", "scheduler"}) == ["scheduler", "worker"]
        heartbeat.beat(db, "host:1", ["worker", "scheduler"])
        assert heartbeat.missing(db, "host:1", {"worker", "scheduler"}) == []
        assert heartbeat.missing(db, "host:2", {"worker"}) == ["worker"]  # another serve's roles are its own
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=heartbeat.STALE_AFTER + 1)
        assert heartbeat.missing(db, "host:1", {"worker"}, now=later) == ["worker"]
        heartbeat.stopped(db, "host:1", ["scheduler"])
        assert heartbeat.missing(db, "host:1", {"worker", "scheduler"}) == ["scheduler"]
    finally:
        db.dispose()


def test_the_supervisor_restart_count_is_readable_by_everyone(database_url: str) -> None:
    db = open_database(database_url)
    try:
        heartbeat.record_restart(db, "host:1", 1, "signal SIGKILL")
        heartbeat.record_restart(db, "host:1", 2, "exit status 1")
        stats = heartbeat.supervisor_stats(db)
        assert stats["host:1"]["restarts"] == 2 and stats["host:1"]["last_exit"] == "exit status 1"
    finally:
        db.dispose()
