"""The durable job queue: one ``jobs`` table in raccord's database.

A job belongs to a binding (instance × profile) and names one of the connector's job
methods; a worker runs it with ``JobRun(payload=…)``. Statuses: ``queued`` (waiting,
possibly until ``run_at`` for a retry), ``running`` (claimed under a lease),
``done`` (with its result) and ``dead`` (failed ``max_attempts`` times; kept, and
retryable with :func:`retry_job`).

The same ``(instance, profile, idempotency_key)`` is never enqueued twice: the unique
constraint decides, with ``INSERT … ON CONFLICT DO NOTHING`` so two processes racing
on one key both get the one job's id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from framework.runtime.txn import aware, utcnow, write_tx
from framework.storage.db import Database
from framework.storage.schema import jobs

DEFAULT_MAX_ATTEMPTS = 5
STATUSES = ("queued", "running", "done", "dead")


@dataclass(frozen=True)
class JobInfo:
    """A job as ``raccord jobs show`` and ``GET /<instance>/<profile>/jobs/<id>`` see it."""

    id: int
    instance: str
    profile: str
    name: str
    kind: str
    status: str
    attempts: int
    max_attempts: int
    payload: Mapping[str, Any]
    result: Any
    error: str | None
    idempotency_key: str | None
    run_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    worker: str | None = None
    lease_until: dt.datetime | None = None

    def public(self) -> dict[str, Any]:
        """What a caller of the gateway may see (no payload: it may hold personal data)."""
        return {
            "id": self.id, "name": self.name, "status": self.status, "attempts": self.attempts,
            "max_attempts": self.max_attempts, "result": self.result, "error": self.error,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "run_at": self.run_at.isoformat(),
        }


def _row(instance: str, profile: str, name: str, payload: Mapping[str, Any], *, key: str | None,
         run_at: dt.datetime | None, max_attempts: int, kind: str, now: dt.datetime) -> dict[str, Any]:
    return {"instance": instance, "profile": profile, "name": name, "kind": kind, "payload": dict(payload),
            "status": "queued", "attempts": 0, "max_attempts": max_attempts, "run_at": run_at or now,
            "idempotency_key": key, "created_at": now, "updated_at": now}


def _insert_ignoring_duplicates(db: Database) -> Any:
    return db.insert(jobs).on_conflict_do_nothing(
        index_elements=[jobs.c.instance, jobs.c.profile, jobs.c.idempotency_key])


def enqueue(db: Database, instance: str, profile: str, name: str, payload: Mapping[str, Any] | None = None,
            *, idempotency_key: str | None = None, run_at: dt.datetime | None = None,
            max_attempts: int = DEFAULT_MAX_ATTEMPTS, kind: str = "task") -> int:
    """Queue ``name`` for the binding; return the job id (the existing one for a known key)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    row = _row(instance, profile, name, payload or {}, key=idempotency_key, run_at=run_at,
               max_attempts=max_attempts, kind=kind, now=utcnow())
    with write_tx(db) as conn:
        if idempotency_key is None:
            return int(conn.execute(insert(jobs).returning(jobs.c.id), row).scalar_one())
        new_id = conn.execute(_insert_ignoring_duplicates(db).returning(jobs.c.id), row).scalar()
        if new_id is not None:
            return int(new_id)
        # The key was taken (perhaps a moment ago by another process): its job is ours.
        return int(conn.execute(select(jobs.c.id).where(
            jobs.c.instance == instance, jobs.c.profile == profile,
            jobs.c.idempotency_key == idempotency_key)).scalar_one())


def enqueue_many(db: Database, instance: str, profile: str, name: str, payloads: Iterable[Mapping[str, Any]],
                 *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, chunk: int = 2000) -> int:
    """Queue one job per payload in a few transactions (bulk imports, benchmarks)."""
    now, count, batch = utcnow(), 0, []
    for payload in payloads:
        batch.append(_row(instance, profile, name, payload, key=None, run_at=None,
                          max_attempts=max_attempts, kind="task", now=now))
        if len(batch) >= chunk:
            count += _insert_batch(db, batch)
            batch = []
    return count + (_insert_batch(db, batch) if batch else 0)


def _insert_batch(db: Database, rows: list[dict[str, Any]]) -> int:
    with write_tx(db) as conn:
        conn.execute(insert(jobs), rows)
    return len(rows)


def _info(row: Any) -> JobInfo:
    m = row._mapping
    return JobInfo(
        id=int(m["id"]), instance=m["instance"], profile=m["profile"], name=m["name"], kind=m["kind"],
        status=m["status"], attempts=m["attempts"], max_attempts=m["max_attempts"], payload=m["payload"] or {},
        result=m["result"], error=m["error"], idempotency_key=m["idempotency_key"],
        run_at=aware(m["run_at"]), created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(m["updated_at"]), worker=m["worker"], lease_until=aware(m["lease_until"]),  # type: ignore[arg-type]
    )


def get_job(db: Database, instance: str, profile: str, job_id: int) -> JobInfo | None:
    """The job, only if it belongs to this binding: another instance sees nothing."""
    with db.engine.connect() as conn:
        row = conn.execute(select(jobs).where(
            jobs.c.id == job_id, jobs.c.instance == instance, jobs.c.profile == profile)).first()
    return _info(row) if row is not None else None


def find_job(db: Database, job_id: int) -> JobInfo | None:
    """Any job by id: for administrators (``raccord jobs show``), never for callers."""
    with db.engine.connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _info(row) if row is not None else None


def list_jobs(db: Database, *, instance: str | None = None, profile: str | None = None,
              status: str | None = None, limit: int = 50) -> list[JobInfo]:
    """The newest jobs first, filtered."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    for column, value in ((jobs.c.instance, instance), (jobs.c.profile, profile), (jobs.c.status, status)):
        if value is not None:
            query = query.where(column == value)
    with db.engine.connect() as conn:
        return [_info(row) for row in conn.execute(query)]


def count_by_status(db: Database) -> dict[str, int]:
    from sqlalchemy import func

    with db.engine.connect() as conn:
        rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
    return {status: int(n) for status, n in rows}


def retry_job(db: Database, job_id: int, *, statuses: Sequence[str] = ("dead",)) -> bool:
    """Put a dead job back in the queue with fresh attempts; False if it is not dead."""
    now = utcnow()
    with write_tx(db) as conn:
        done = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(statuses)).values(
            status="queued", attempts=0, run_at=now, lease_until=None, worker=None, updated_at=now))
    return bool(done.rowcount)


def purge(db: Database, older_than_days: float, *, statuses: Sequence[str] = ("done", "dead")) -> int:
    """Delete finished jobs last updated more than ``older_than_days`` ago."""
    cutoff = utcnow() - dt.timedelta(days=older_than_days)
    with write_tx(db) as conn:
        gone = conn.execute(delete(jobs).where(and_(jobs.c.status.in_(statuses), jobs.c.updated_at < cutoff)))
    return int(gone.rowcount)


class JobQueue:
    """A binding's view of the queue, given to connectors as ``ctx.queue``.

    An endpoint queues work and answers 202::

        job_id = self.ctx.queue.enqueue("push", {"ticket": …}, idempotency_key=call.body["id"])
        return Accepted(job_id)
    """

    def __init__(self, db: Database, instance: str, profile: str,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.db = db
        self.instance = instance
        self.profile = profile
        self.max_attempts = max_attempts

    def enqueue(self, name: str, payload: Mapping[str, Any] | None = None, *,
                idempotency_key: str | None = None, run_at: dt.datetime | None = None,
                max_attempts: int | None = None) -> int:
        return enqueue(self.db, self.instance, self.profile, name, payload, idempotency_key=idempotency_key,
                       run_at=run_at, max_attempts=max_attempts or self.max_attempts)

    def get(self, job_id: int) -> JobInfo | None:
        return get_job(self.db, self.instance, self.profile, job_id)

    def sibling(self, profile: str) -> JobQueue:
        """The queue of another profile of the same instance (a connector handing work
        to another one of its instance, e.g. a notification to its e-mail binding)."""
        return JobQueue(self.db, self.instance, profile, self.max_attempts)
