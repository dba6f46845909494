"""Metrics ops can alert on, aggregated over every process of ``raccord serve``.

Two kinds:

- **counted where it happens**, in whichever process: outbound calls (client), job runs
  (workers), auth failures and nonce rejections, override-served calls (gateway). These
  are prometheus_client metrics of this module; under ``raccord serve`` every process
  (gunicorn workers and the background process) writes them to the shared
  ``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics`` adds them all up;
- **read from the database at scrape time**, which every process shares: availability
  and circuit state per binding, queue depth, dead letters (:class:`StateCollector`).
  They are right from start-up, whoever changed them.

Labels are names raccord knows (instance, profile, job, override, a reason from a fixed
list), never a caller-chosen string, a secret, a URL or a user's identity.
docs/metrics.md lists the families and counts the series for 1,000 instances.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Registry of this module's metrics (the gateway serves it in single-process mode).
REGISTRY = CollectorRegistry(auto_describe=True)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

BUILD = Gauge("raccord_build_info", "raccord's version (value 1)", ["version", "python"],
              registry=REGISTRY, multiprocess_mode="max")
OUTBOUND = Counter("raccord_outbound_requests", "Requests to business servers by binding and status class "
                   "(2xx, 3xx, 4xx, 5xx, error: no answer)", ["instance", "profile", "status_class"],
                   registry=REGISTRY)
OUTBOUND_SECONDS = Histogram("raccord_outbound_request_duration_seconds",
                             "Duration of requests to business servers, by profile and status class",
                             ["profile", "status_class"], buckets=BUCKETS, registry=REGISTRY)
JOB_RUNS = Counter("raccord_job_runs", "Job runs by job name and outcome (done, retry, dead, deferred)",
                   ["job", "outcome"], registry=REGISTRY)
JOB_SECONDS = Histogram("raccord_job_duration_seconds", "Duration of job runs, by job name", ["job"],
                        buckets=JOB_BUCKETS, registry=REGISTRY)
AUTH_FAILURES = Counter("raccord_auth_failures", "Refused credentials and calls, by reason", ["reason"],
                        registry=REGISTRY)
NONCE_REJECTIONS = Counter("raccord_nonce_rejections", "Publik signatures refused for their nonce, by reason "
                           "(replayed, missing)", ["reason"], registry=REGISTRY)
JOURNAL_DROPPED = Counter("raccord_journal_rows_dropped", "Journal rows given up, by direction (in, out) and "
                          "reason (queue_full: the writer's bounded queue was full; database_error: a write "
                          "failed)", ["direction", "reason"], registry=REGISTRY)
OVERRIDE_CALLS = Counter("raccord_override_calls", "Inbound calls answered by an override, by override",
                         ["override"], registry=REGISTRY)

#: Auth refusals, by the first fragment of the error message that matches.
AUTH_REASONS = (
    ("nonce", "nonce"), ("timestamp", "signature_timestamp"), ("algo", "signature_algo"),
    ("unknown orig", "signature_unknown_orig"), ("signature", "signature_mismatch"),
    ("api key", "apikey_unknown"), ("basic", "basic_wrong"), ("not allowed on instance", "instance_not_allowed"),
    ("lacks permission", "permission_missing"), ("not configured", "secret_not_configured"),
)


def build_info(version: str) -> None:
    BUILD.labels(version, platform.python_version()).set(1)


def status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


def outbound(instance: str, profile: str, status: int | None, seconds: float) -> None:
    # labels() takes a lock and builds tuples on every call (~2 × 10 µs a call under
    # the profiler): the children are cached, per binding and status class (bounded).
    key = (instance, profile, status_class(status))
    children = _OUTBOUND_CHILDREN.get(key)
    if children is None:
        children = _OUTBOUND_CHILDREN[key] = (OUTBOUND.labels(*key), OUTBOUND_SECONDS.labels(profile, key[2]))
    children[0].inc()
    children[1].observe(seconds)


_OUTBOUND_CHILDREN: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def job_run(job: str, outcome: str, seconds: float) -> None:
    JOB_RUNS.labels(job, outcome).inc()
    JOB_SECONDS.labels(job).observe(seconds)


def auth_failure(message: str, status: int) -> None:
    """Count a 401/403 by a reason taken from a fixed list (never the message itself)."""
    text = message.lower()
    reason = next((r for fragment, r in AUTH_REASONS if fragment in text), "other")
    AUTH_FAILURES.labels(reason).inc()
    if reason == "nonce":
        NONCE_REJECTIONS.labels("missing" if "missing" in text or "required" in text else "replayed").inc()


def journal_dropped(direction: str, reason: str, count: int) -> None:
    JOURNAL_DROPPED.labels(direction, reason).inc(count)


def override_call(override: str) -> None:
    OVERRIDE_CALLS.labels(override).inc()


class StateCollector(Collector):
    """Gauges read from the database when ``/metrics`` is scraped."""

    def __init__(self, raccord: Any) -> None:
        self.raccord = raccord

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from framework.web.status import bindings

        territory = self.raccord.territory
        try:
            rows = bindings(territory, self.raccord.db, territory.instances)
        except Exception:  # the database is away: say so rather than fail the scrape
            up = GaugeMetricFamily("raccord_state_up", "1 when the database-backed gauges could be read")
            up.add_metric([], 0)
            yield up
            return
        yield from _state_families(rows)


def _state_families(rows: list[Any]) -> Iterator[GaugeMetricFamily]:
    ok = GaugeMetricFamily("raccord_state_up", "1 when the database-backed gauges could be read")
    ok.add_metric([], 1)
    up = GaugeMetricFamily("raccord_binding_up", "1 up, 0 down (bindings never called nor checked: absent)",
                           labels=["instance", "profile"])
    circuit = GaugeMetricFamily("raccord_circuit_open", "1 while the binding's circuit breaker is open",
                                labels=["instance", "profile"])
    counts = GaugeMetricFamily("raccord_bindings", "Bindings by availability (up, down, unknown)",
                               labels=["status"])
    depth = GaugeMetricFamily("raccord_queue_jobs", "Jobs in the queue by status, per profile",
                              labels=["profile", "status"])
    dead = GaugeMetricFamily("raccord_dead_letters", "Dead jobs per binding (bindings with none: absent)",
                             labels=["instance", "profile"])
    by_status = {"up": 0, "down": 0, "unknown": 0}
    per_profile: dict[tuple[str, str], int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
        if row.status != "unknown":
            up.add_metric([row.instance, row.profile], 1 if row.status == "up" else 0)
            circuit.add_metric([row.instance, row.profile], 1 if row.circuit == "open" else 0)
        for status in ("queued", "running", "done", "dead"):
            key = (row.profile, status)
            per_profile[key] = per_profile.get(key, 0) + row.queue.get(status, 0)
        if row.queue.get("dead"):
            dead.add_metric([row.instance, row.profile], row.queue["dead"])
    for status, n in by_status.items():
        counts.add_metric([status], n)
    for (profile, status), n in sorted(per_profile.items()):
        depth.add_metric([profile, status], n)
    yield from (ok, up, circuit, counts, depth, dead)
