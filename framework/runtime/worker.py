"""Workers: claim jobs, run the connector's job method, record the outcome.

A worker claims a few jobs at a time under a lease and keeps that lease alive with a
heartbeat thread while it works, so a long synchronisation is not taken over by
another worker; if the worker dies (SIGKILL, a lost machine) its lease expires and
another worker takes the job over. SIGTERM stops it gracefully: the job in hand
finishes, claimed jobs not started yet go back to the queue.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from framework.connector import JobRun
from framework.errors import NotFound, RaccordError, Unavailable
from framework.runtime import lease
from framework.runtime.redact import error_text
from framework.runtime.txn import utcnow

log = logging.getLogger("raccord.worker")


class StopSignal(Protocol):
    """``threading.Event`` or ``multiprocessing.Event``."""

    def is_set(self) -> bool: ...
    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class WorkerOptions:
    batch: int = 10  # jobs claimed per transaction: fewer round trips, same guarantees
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0  # sleep when the queue is empty
    backoff_seconds: float = 30.0  # first retry delay; doubles with each attempt
    # While a binding is unavailable (circuit open) its jobs wait without spending
    # attempts, for at most this long after they were queued.
    max_defer_seconds: float = 7 * 86400.0

    @classmethod
    def from_runtime(cls, runtime: dict[str, Any], **overrides: Any) -> WorkerOptions:
        values: dict[str, Any] = {k: float(runtime[k]) for k in ("lease_seconds", "poll_seconds", "backoff_seconds")
                                  if k in runtime}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Worker:
    def __init__(self, raccord: Any, options: WorkerOptions | None = None, name: str | None = None) -> None:
        self.raccord = raccord
        self.options = options or WorkerOptions()
        # Unique per claim loop: the lease and every later write are checked against it.
        self.name = name or _worker_name()
        self.executed = 0

    def run(self, stop: StopSignal) -> None:
        """Claim and run jobs until ``stop`` is set."""
        beat = threading.Thread(target=self._heartbeat, args=(stop,), name=f"heartbeat {self.name}", daemon=True)
        beat.start()
        try:
            while not stop.is_set():
                try:
                    ran = self.run_once(stop)
                except Exception as exc:  # the database went away: wait, then claim again
                    self._lost_track(exc)
                    ran = 0
                if ran == 0:
                    stop.wait(self.options.poll_seconds)
        finally:
            beat.join(timeout=self.options.lease_seconds)

    def _lost_track(self, exc: Exception) -> None:
        # Jobs claimed under the old name may have run without their outcome recorded:
        # the heartbeat must stop extending their leases, so that they are taken over
        # when the lease expires (at least once) instead of staying "running" forever.
        from framework.storage.db import database_error_text

        old, self.name = self.name, _worker_name()
        log.error("worker %s lost the database (%s); continuing as %s", old, database_error_text(exc), self.name)

    def run_once(self, stop: StopSignal | None = None) -> int:
        """Claim one batch and run it; return how many jobs ran."""
        claimed = lease.claim(self.raccord.db, self.name, limit=self.options.batch,
                              lease_seconds=self.options.lease_seconds)
        for index, job in enumerate(claimed):
            if stop is not None and stop.is_set():
                lease.release(self.raccord.db, self.name, [j.id for j in claimed[index:]])
                return index
            self.execute(job)
        return len(claimed)

    def execute(self, job: lease.Claimed) -> None:
        started = time.perf_counter()
        outcome, label = "dead", "-"
        try:
            outcome, label = self._execute(job)
        finally:
            from framework import metrics

            metrics.job_run(label, outcome, time.perf_counter() - started)

    def _execute(self, job: lease.Claimed) -> tuple[str, str]:
        """Run the job; return (outcome: done|retry|dead|deferred, its job label)."""
        db = self.raccord.db
        label = "-"  # a name the binding does not have is not a label (bounded cardinality)
        try:
            bound = self.raccord.bound(job.instance, job.profile)
            spec = bound.jobs.get(job.name)
            label = job.name if spec is not None else "-"
            if spec is None:
                raise NotFound(f"{job.instance}/{job.profile} has no job {job.name!r}")
            result = spec.func(bound.connector, JobRun(payload=job.payload, job_id=job.id, attempt=job.attempts))
        except Exception as exc:
            # 4xx errors (unknown binding, invalid payload) will not heal by retrying.
            permanent = isinstance(exc, RaccordError) and 400 <= exc.status < 500
            text = error_text(exc, self._binding(job))
            if isinstance(exc, Unavailable) and self._may_defer(job):
                delay = lease.backoff(job.attempts, self.options.backoff_seconds)
                lease.defer(db, self.name, job, text, delay)
                log.info("job %s deferred %.0f s: %s", job.id, delay, text)
                return "deferred", label
            status = lease.fail(db, self.name, job, text, permanent=permanent,
                                backoff_seconds=self.options.backoff_seconds)
            log.warning("job %s (%s/%s %s) attempt %d failed, %s: %s", job.id, job.instance, job.profile,
                        job.name, job.attempts, status, text)
            return ("dead" if status == "dead" else "retry"), label
        self.executed += 1
        if not lease.complete(db, self.name, job.id, result):
            log.warning("job %s finished after its lease was taken over; its result was dropped", job.id)
        if job.failed_before:
            # A job that failed before succeeded: the business server is back, so the
            # backlog waiting out its backoff goes now rather than hours later.
            sped = lease.expedite(db, job.instance, job.profile)
            if sped:
                log.info("%s/%s works again: %d waiting job(s) released", job.instance, job.profile, sped)
        return "done", label

    def _may_defer(self, job: lease.Claimed) -> bool:
        return (utcnow() - job.created_at).total_seconds() < self.options.max_defer_seconds

    def _binding(self, job: lease.Claimed) -> Any:
        return self.raccord.territory.bindings.get((job.instance, job.profile))

    def _heartbeat(self, stop: StopSignal) -> None:
        interval = max(0.05, self.options.lease_seconds / 3)
        while not stop.wait(interval):
            try:
                lease.extend(self.raccord.db, self.name, self.options.lease_seconds)
            except Exception as exc:  # a database hiccup: the next beat retries
                log.warning("worker %s could not extend its leases: %s", self.name, exc)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_worker(source: str | Path | Any, stop: StopSignal, *, threads: int = 1, database_url: str | None = None,
               pm: Any = None, **options: Any) -> int:
    """Run ``threads`` worker loops until ``stop`` is set (or SIGTERM); return jobs executed.

    ``source`` is a path to instances.toml or an open :class:`~framework.app.Raccord`.
    """
    from framework.app import Raccord

    raccord = source if isinstance(source, Raccord) else Raccord.open(source, database_url=database_url, pm=pm)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    opts = WorkerOptions.from_runtime(dict(raccord.territory.runtime), **options)
    workers = [Worker(raccord, opts) for _ in range(max(1, threads))]
    loops = [threading.Thread(target=w.run, args=(stop,), name=f"worker {w.name}") for w in workers]
    try:
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()
    finally:
        if raccord is not source:
            raccord.close()
    return sum(w.executed for w in workers)
