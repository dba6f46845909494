"""Claiming jobs under a lease, and what happens after: done, retry later, or dead.

A claim is ONE ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`` statement:
on PostgreSQL the inner select takes its rows ``FOR UPDATE SKIP LOCKED`` so workers
never wait for nor share a row; on SQLite the statement runs under ``BEGIN
IMMEDIATE`` (the single writer), so it is atomic between processes. A job whose
lease has expired (its worker was killed) is claimable again. Every later write
checks that the job is still ours (``worker`` column): a worker that lost its lease
cannot overwrite the new owner's outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update

from framework.runtime.txn import aware, utcnow, write_tx
from framework.storage.db import Database
from framework.storage.schema import jobs

BACKOFF_CAP_SECONDS = 3600.0


@dataclass(frozen=True)
class Claimed:
    id: int
    instance: str
    profile: str
    name: str
    payload: Mapping[str, Any]
    attempts: int
    max_attempts: int
    created_at: dt.datetime
    failed_before: bool = False  # an earlier attempt (or deferral) of this job failed


def claim(db: Database, worker: str, *, limit: int = 1, lease_seconds: float = 60.0) -> list[Claimed]:
    """Take up to ``limit`` ready jobs for ``worker`` until ``now + lease_seconds``."""
    now = utcnow()
    ready = or_(
        and_(jobs.c.status == "queued", jobs.c.run_at <= now),
        and_(jobs.c.status == "running", jobs.c.lease_until < now, jobs.c.attempts < jobs.c.max_attempts),
    )
    ids = (select(jobs.c.id).where(ready).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
           .with_for_update(skip_locked=True))
    stmt = (update(jobs).where(jobs.c.id.in_(ids.scalar_subquery()))
            .values(status="running", attempts=jobs.c.attempts + 1, worker=worker,
                    lease_until=now + dt.timedelta(seconds=lease_seconds), updated_at=now)
            .returning(jobs.c.id, jobs.c.instance, jobs.c.profile, jobs.c.name, jobs.c.payload,
                       jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at, jobs.c.error))
    with write_tx(db) as conn:
        _bury_abandoned(conn, now)
        rows = conn.execute(stmt).all()
    claimed = [Claimed(int(r.id), r.instance, r.profile, r.name, r.payload or {}, r.attempts, r.max_attempts,
                       aware(r.created_at) or now, r.error is not None) for r in rows]
    return sorted(claimed, key=lambda c: c.id)


def _bury_abandoned(conn: Any, now: dt.datetime) -> None:
    # A job whose lease expired on its last attempt killed its worker every time
    # (a crash, out of memory): running it again would only kill another worker.
    conn.execute(update(jobs).where(
        jobs.c.status == "running", jobs.c.lease_until < now, jobs.c.attempts >= jobs.c.max_attempts,
    ).values(status="dead", lease_until=None, updated_at=now,
             error="its worker stopped during every attempt (killed, or out of memory?)"))


def _mine(job_id: int, worker: str) -> Any:
    return and_(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == "running")


def complete(db: Database, worker: str, job_id: int, result: Any) -> bool:
    """Mark the job done with its result; False if the lease was lost meanwhile."""
    now = utcnow()
    with write_tx(db) as conn:
        done = conn.execute(update(jobs).where(_mine(job_id, worker)).values(
            status="done", result=_jsonable(result), error=None, lease_until=None, updated_at=now))
    return bool(done.rowcount)


def fail(db: Database, worker: str, job: Claimed, error: str, *, permanent: bool = False,
         backoff_seconds: float = 30.0) -> str:
    """Record a failed attempt: queue a retry after a backoff, or bury the job ("dead")."""
    now = utcnow()
    dead = permanent or job.attempts >= job.max_attempts
    values: dict[str, Any] = {"error": error, "lease_until": None, "updated_at": now}
    if dead:
        values["status"] = "dead"
    else:
        values.update(status="queued", run_at=now + dt.timedelta(seconds=backoff(job.attempts, backoff_seconds)))
    with write_tx(db) as conn:
        conn.execute(update(jobs).where(_mine(job.id, worker)).values(**values))
    return str(values["status"])


def defer(db: Database, worker: str, job: Claimed, error: str, delay: float) -> None:
    """Put the job back without counting the attempt: it was never really tried (the
    binding's circuit breaker is open), so a long outage does not exhaust its attempts."""
    now = utcnow()
    with write_tx(db) as conn:
        conn.execute(update(jobs).where(_mine(job.id, worker)).values(
            status="queued", attempts=jobs.c.attempts - 1, error=error, lease_until=None, updated_at=now,
            run_at=now + dt.timedelta(seconds=delay)))


def expedite(db: Database, instance: str, profile: str) -> int:
    """The binding works again: its jobs waiting out a retry backoff may run now."""
    now = utcnow()
    with write_tx(db) as conn:
        done = conn.execute(update(jobs).where(
            jobs.c.instance == instance, jobs.c.profile == profile, jobs.c.status == "queued",
            jobs.c.attempts > 0, jobs.c.run_at > now).values(run_at=now))
    return int(done.rowcount)


def backoff(attempt: int, base: float, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Exponential backoff with jitter: about base, 2×base, 4×base… never above ``cap``.

    The random half spreads the retries of many jobs that failed together (a business
    server that went down) so they do not all hit it again in the same second.
    """
    ceiling = min(cap, base * float(2 ** max(0, attempt - 1)))
    return ceiling * random.uniform(0.5, 1.0)


def extend(db: Database, worker: str, lease_seconds: float) -> int:
    """Heartbeat: push back the lease of every job ``worker`` holds."""
    now = utcnow()
    with write_tx(db) as conn:
        done = conn.execute(update(jobs).where(jobs.c.worker == worker, jobs.c.status == "running")
                            .values(lease_until=now + dt.timedelta(seconds=lease_seconds)))
    return int(done.rowcount)


def release(db: Database, worker: str, ids: Iterable[int]) -> int:
    """Give back claimed jobs that were never started (a worker stopping)."""
    ids = list(ids)
    if not ids:
        return 0
    now = utcnow()
    with write_tx(db) as conn:
        done = conn.execute(update(jobs).where(jobs.c.id.in_(ids), jobs.c.worker == worker,
                                               jobs.c.status == "running")
                            .values(status="queued", attempts=jobs.c.attempts - 1, lease_until=None,
                                    worker=None, updated_at=now))
    return int(done.rowcount)


def _jsonable(value: Any) -> Any:
    # A job may return dates or other objects: keep what JSON can hold, stringify the rest.
    # NaN and infinities are not JSON (PostgreSQL refuses them, the gateway cannot send
    # them): they become null.
    return json.loads(json.dumps(value, default=str), parse_constant=lambda _: None)
