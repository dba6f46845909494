"""Prometheus metrics of the gateway.

Each app gets its own ``CollectorRegistry`` (several apps in one process — tests —
never collide on the global registry). Under gunicorn with several workers, each
worker is a process with its own counters, so ``/metrics`` answered by one worker
would show a fraction of the traffic. What we chose: ``raccord serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh private directory before the workers fork
(prometheus_client then keeps values in per-process mmap files), and ``/metrics``
aggregates every worker's files with ``MultiProcessCollector``; a dead worker's files
are marked dead by the server's ``child_exit`` hook. Without that variable (tests,
one process) the private registry is served directly.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as mp

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A gateway's added latency is ~1 ms; upstreams take 10 ms to seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, raccord: Any = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        from framework import metrics

        try:
            metrics.build_info(version("raccord"))
        except PackageNotFoundError:  # running from a checkout that is not installed
            metrics.build_info("0+unknown")
        # Database-backed gauges (availability, circuit, queue): read at scrape time.
        self.state = CollectorRegistry(auto_describe=False)
        if raccord is not None:
            self.state.register(metrics.StateCollector(raccord))
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "raccord_calls", "Inbound calls by instance, profile, endpoint, status and override",
            ["instance", "profile", "endpoint", "status", "override"], registry=self.registry)
        self.latency = Histogram(
            "raccord_call_duration_seconds", "Time spent answering an inbound call",
            ["instance", "profile", "endpoint"], buckets=BUCKETS, registry=self.registry)
        self._children: dict[tuple[str, ...], tuple[object, object]] = {}

    def observe(self, instance: str, profile: str, endpoint: str, status: int, override: str,
                seconds: float) -> None:
        # labels() costs a few µs (lock + tuple building); cache the children.
        key = (instance, profile, endpoint, str(status), override)
        pair = self._children.get(key)
        if pair is None:
            pair = (self.calls.labels(*key), self.latency.labels(instance, profile, endpoint))
            self._children[key] = pair
        pair[0].inc()  # type: ignore[attr-defined]
        pair[1].observe(seconds)  # type: ignore[attr-defined]

    def exposition(self) -> bytes:
        """Every process's counters (multiprocess mode) or this process's, then the
        database-backed gauges."""
        from framework import metrics

        path = os.environ.get(MULTIPROC_ENV)
        if path and os.path.isdir(path):
            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
            return generate_latest(registry) + generate_latest(self.state)
        return generate_latest(self.registry) + generate_latest(metrics.REGISTRY) + generate_latest(self.state)
