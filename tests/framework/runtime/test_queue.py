"""The queue in one process: enqueue, claim, lease, retries, dead letters, isolation."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from framework import Accepted
from framework.app import Raccord
from framework.runtime import lease
from framework.runtime.queue import enqueue, enqueue_many, find_job, get_job, list_jobs, purge, retry_job
from framework.runtime.worker import Worker, WorkerOptions
from tests.framework.runtime.conftest import TOKEN
from tests.framework.runtime.helpers import executions

FAST = WorkerOptions(batch=5, lease_seconds=30, poll_seconds=0.01, backoff_seconds=0.01)


def test_an_endpoint_enqueues_and_a_worker_runs_the_job(raccord: Raccord, config: Path) -> None:
    accepted = raccord.invoke("metz", "q", "tickets", method="POST", body={"key": "t-1", "n": 1})
    assert isinstance(accepted, Accepted)
    job = get_job(raccord.db, "metz", "q", accepted.job_id)
    assert job is not None and job.status == "queued" and job.name == "push" and job.payload["key"] == "t-1"
    # The same key again: the same job, never a second one.
    again = raccord.invoke("metz", "q", "tickets", method="POST", body={"key": "t-1", "n": 1})
    assert again.job_id == accepted.job_id
    # Another instance neither sees the job nor shares the key space.
    assert get_job(raccord.db, "woippy", "q", accepted.job_id) is None
    other = raccord.invoke("woippy", "q", "tickets", method="POST", body={"key": "t-1", "n": 1})
    assert other.job_id != accepted.job_id

    ids = [enqueue(raccord.db, "metz", "q", "count", {"n": n}) for n in range(3)]
    Worker(raccord, FAST).run_once()
    for n, job_id in enumerate(ids):
        done = get_job(raccord.db, "metz", "q", job_id)
        assert done is not None and done.status == "done" and done.result == n and done.attempts == 1
    assert sorted(executions(config.parent / "out", "count")) == ["0", "1", "2"]


def test_concurrent_enqueues_of_one_key_make_one_job(raccord: Raccord) -> None:
    ids: list[int] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        ids.append(enqueue(raccord.db, "metz", "q", "count", {"n": 1}, idempotency_key="same"))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 6
    assert len(list_jobs(raccord.db, instance="metz")) == 1


def test_a_job_is_claimed_once_and_an_expired_lease_is_taken_over(raccord: Raccord) -> None:
    job_id = enqueue(raccord.db, "metz", "q", "count", {"n": 7})
    first = lease.claim(raccord.db, "w1", limit=10, lease_seconds=0.2)
    assert [c.id for c in first] == [job_id]
    assert lease.claim(raccord.db, "w2", limit=10, lease_seconds=0.2) == []
    time.sleep(0.3)
    taken = lease.claim(raccord.db, "w2", limit=10, lease_seconds=30)
    assert [(c.id, c.attempts) for c in taken] == [(job_id, 2)]
    # The first worker lost its lease: its late outcome is dropped, not recorded.
    assert not lease.complete(raccord.db, "w1", job_id, "late")
    assert lease.complete(raccord.db, "w2", job_id, "ok")
    job = find_job(raccord.db, job_id)
    assert job is not None and (job.status, job.result, job.worker) == ("done", "ok", "w2")


def test_the_heartbeat_keeps_a_long_job_s_lease(raccord: Raccord) -> None:
    enqueue(raccord.db, "metz", "q", "count", {"n": 1})
    claimed = lease.claim(raccord.db, "w1", lease_seconds=0.3)
    for _ in range(3):
        time.sleep(0.15)
        assert lease.extend(raccord.db, "w1", 0.3) == 1
    assert lease.claim(raccord.db, "w2") == []
    assert lease.release(raccord.db, "w1", [c.id for c in claimed]) == 1
    assert [c.attempts for c in lease.claim(raccord.db, "w2")] == [1]


def test_failures_retry_with_backoff_then_die_and_can_be_retried(raccord: Raccord) -> None:
    job_id = enqueue(raccord.db, "metz", "q", "broken", {}, max_attempts=3)
    worker = Worker(raccord, WorkerOptions(poll_seconds=0.01, backoff_seconds=0.05))
    statuses = []
    for _ in range(3):
        deadline = time.monotonic() + 2
        while worker.run_once() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        job = find_job(raccord.db, job_id)
        assert job is not None
        statuses.append((job.status, job.attempts))
    assert statuses == [("queued", 1), ("queued", 2), ("dead", 3)]
    assert job.error is not None and "UpstreamError" in job.error
    assert TOKEN not in job.error and "***" in job.error  # secrets never stored
    assert worker.run_once() == 0  # dead letters stay put
    assert retry_job(raccord.db, job_id)
    assert not retry_job(raccord.db, job_id)  # only a dead job is retried
    job = find_job(raccord.db, job_id)
    assert job is not None and (job.status, job.attempts) == ("queued", 0)


def test_backoff_grows_exponentially_with_jitter() -> None:
    delays = [lease.backoff(attempt, 10) for attempt in (1, 2, 3, 4)]
    for attempt, delay in enumerate(delays, start=1):
        assert 5 * 2 ** (attempt - 1) <= delay <= 10 * 2 ** (attempt - 1)
    assert lease.backoff(30, 10) <= lease.BACKOFF_CAP_SECONDS


def test_unknown_job_dies_at_once_and_a_killed_worker_s_last_attempt_is_buried(raccord: Raccord) -> None:
    unknown = enqueue(raccord.db, "metz", "q", "nope", {})
    Worker(raccord, FAST).run_once()
    job = find_job(raccord.db, unknown)
    assert job is not None and job.status == "dead" and "has no job 'nope'" in (job.error or "")
    crashing = enqueue(raccord.db, "metz", "q", "count", {"n": 1}, max_attempts=1)
    lease.claim(raccord.db, "w1", lease_seconds=0.05)
    time.sleep(0.1)
    assert lease.claim(raccord.db, "w2") == []
    job = find_job(raccord.db, crashing)
    assert job is not None and job.status == "dead" and "worker stopped" in (job.error or "")


def test_future_jobs_wait_and_purge_keeps_recent_ones(raccord: Raccord) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    enqueue(raccord.db, "metz", "q", "count", {"n": 1}, run_at=later)
    assert lease.claim(raccord.db, "w1") == []
    assert enqueue_many(raccord.db, "metz", "q", "count", ({"n": n} for n in range(5)), chunk=2) == 5
    assert Worker(raccord, FAST).run_once() == 5
    assert purge(raccord.db, 1) == 0
    assert purge(raccord.db, -1) == 5  # finished "before tomorrow": all five done jobs
    assert [j.status for j in list_jobs(raccord.db)] == ["queued"]


def test_a_job_knows_its_id_attempt_and_idempotency_key(raccord: Raccord) -> None:
    job_id = enqueue(raccord.db, "metz", "q", "whoami", {})
    Worker(raccord, FAST).run_once()
    done = get_job(raccord.db, "metz", "q", job_id)
    assert done is not None and done.status == "done"
    assert done.result == {"job_id": job_id, "attempt": 1, "key": f"raccord-job-{job_id}"}


def test_a_worker_loop_survives_a_database_hiccup(raccord: Raccord, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed claim (database restarting, locked too long) must not end the loop: the
    process would go on serving with no worker left."""
    real_claim, calls = lease.claim, []

    def flaky_claim(*args: object, **kwargs: object) -> list[lease.Claimed]:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("claim", {}, Exception("server closed the connection unexpectedly"))
        return real_claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lease, "claim", flaky_claim)
    stop = threading.Event()
    job_id = enqueue(raccord.db, "metz", "q", "count", {"n": 7})
    loop = threading.Thread(target=Worker(raccord, FAST).run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job = get_job(raccord.db, "metz", "q", job_id)
            if (job is not None and job.status == "done") or not loop.is_alive():
                break
            time.sleep(0.02)
        assert loop.is_alive(), "the worker loop died on one database error"
        assert get_job(raccord.db, "metz", "q", job_id).status == "done"  # type: ignore[union-attr]
    finally:
        stop.set()
        loop.join(10)


def test_a_result_json_cannot_hold_is_stored_and_the_job_done(raccord: Raccord) -> None:
    """NaN and infinities are not JSON (PostgreSQL refuses them): storing the result must
    not fail, or the job would run again and again after its lease."""
    job_id = enqueue(raccord.db, "metz", "q", "count", {"n": 1})
    [job] = lease.claim(raccord.db, "w1")
    assert lease.complete(raccord.db, "w1", job.id, {"ratio": float("nan"), "max": float("inf"), "ok": 1.5})
    done = get_job(raccord.db, "metz", "q", job_id)
    assert done is not None and done.status == "done"
    assert done.result == {"ratio": None, "max": None, "ok": 1.5}
