"""Running a connector's job now, and reading what it stored."""

from __future__ import annotations

from typing import Any

from framework.app import Raccord
from framework.runtime.sync import run_sync


def run_job(raccord: Raccord, target: str, payload: dict[str, Any] | None = None) -> Any:
    """Run job ``"instance/profile/job"`` in this process, as ``raccord sync`` does,
    with the binding's settings, store and HTTP client; return what the job returned
    (its errors propagate, so a test sees them)."""
    instance, profile, job = target.split("/", 2)
    return run_sync(raccord, instance, profile, job, payload=payload)


def stored(raccord: Raccord, binding: str, collection: str, q: str | None = None) -> list[dict[str, Any]]:
    """The records a binding (``"instance/profile"``) keeps in ``collection``, in
    text order, optionally only those whose text contains every word of ``q``."""
    instance, profile = binding.split("/", 1)
    return raccord.bound(instance, profile).connector.store.search(collection, q)


def run_queued(raccord: Raccord, *, retries_now: bool = False, rounds: int = 10) -> int:
    """Run the queued jobs that are due, in this process, as ``raccord worker`` would
    (same claims, retries, back-off and dead letters); return how many ran. A job whose
    retry waits out its back-off stays queued — unless ``retries_now``, as if the
    back-off had elapsed (a test of "delivered once the server is back")."""
    from framework.runtime import lease
    from framework.runtime.worker import Worker

    if retries_now:
        for instance, profile in raccord.territory.bindings:
            lease.expedite(raccord.db, instance, profile)
    worker = Worker(raccord)
    total = 0
    for _ in range(rounds):
        ran = worker.run_once()
        if ran == 0:
            break
        total += ran
    return total
