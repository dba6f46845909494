"""Running one periodic job now, in this process (``raccord sync``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from framework.config.report import did_you_mean
from framework.connector import JobRun
from framework.errors import NotFound

Progress = Callable[[int, int | None], None]


def run_sync(raccord: Any, instance: str, profile: str, job: str, progress: Progress | None = None,
             payload: dict[str, Any] | None = None) -> Any:
    """Run ``job`` of the binding now and return its result (errors propagate)."""
    bound = raccord.bound(instance, profile)
    spec = bound.jobs.get(job)
    if spec is None:
        known = ", ".join(sorted(bound.jobs)) or "none"
        raise NotFound(f"{instance}/{profile} has no job {job!r}",
                       hint=did_you_mean(job, bound.jobs) or f"its jobs: {known}")
    return spec.func(bound.connector, JobRun(payload=payload or {}, progress=progress))
