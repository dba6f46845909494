"""The built-in health check of every binding.

``check_health(raccord, instance, profile)`` calls the connector's ``health_check()``
(its HTTP calls pass an open circuit breaker: the health check IS the probe), then
records the outcome: success closes the breaker and marks the binding up; failure
marks it down with the reason and counts as one failure. A connector that does not
define ``health_check`` is left alone (its calls alone decide its availability).

The scheduler runs it for every binding every ``[runtime] health_check_interval``
seconds (default 300) through :func:`health_job_spec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framework.connector import Connector, JobRun
from framework.declarations import JobSpec
from framework.errors import RaccordError

if TYPE_CHECKING:
    from framework.app import Raccord

HEALTH_JOB = "health_check"
DEFAULT_INTERVAL = 300.0


def has_health_check(connector: Connector) -> bool:
    return type(connector).health_check is not Connector.health_check


def run_health_check(connector: Connector) -> dict[str, Any]:
    """Check one connector object; return ``{"status": "up"|"down"|"unchecked", ...}``."""
    if not has_health_check(connector):
        return {"status": "unchecked", "reason": "the connector defines no health check"}
    http = connector.http
    try:
        with http.probing():
            connector.health_check()
    except RaccordError as exc:
        if http.breaker is not None:
            http.breaker.mark_down(f"health check failed: {exc.message}")
        return {"status": "down", "reason": exc.message}
    except Exception as exc:  # a bug in the check is reported, never raised into the scheduler
        if http.breaker is not None:
            http.breaker.mark_down(f"health check crashed: {type(exc).__name__}")
        return {"status": "down", "reason": f"health check crashed: {type(exc).__name__}"}
    if http.breaker is not None:
        http.breaker.success()
    return {"status": "up"}


def check_health(raccord: Raccord, instance: str, profile: str) -> dict[str, Any]:
    """Run one binding's health check and record its availability."""
    return run_health_check(raccord.bound(instance, profile).connector)


def interval_schedule(seconds: float) -> str:
    """A JobSpec schedule string (``"every 5m"``) for an interval in seconds."""
    if seconds % 60 == 0:
        return f"every {int(seconds // 60)}m"
    return f"every {int(seconds)}s"


def _health_job(connector: Connector, run: JobRun) -> dict[str, Any]:
    return run_health_check(connector)


def health_job_spec(interval: float = DEFAULT_INTERVAL) -> JobSpec:
    """The built-in periodic job the scheduler adds to every binding."""
    return JobSpec(name=HEALTH_JOB, func=_health_job, schedule=interval_schedule(interval),
                   description="Check that the business server answers; record availability.")
