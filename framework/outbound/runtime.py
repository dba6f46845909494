"""What the runtime shares between the outbound clients of all its bindings: one
journal writer, the availability recorder, the answer cache. Building a binding's
client is cheap (no session, no thread, no query until its first call)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from framework import availability
from framework.config.model import Binding
from framework.connector import Call, Connector
from framework.declarations import EndpointSpec, JobSpec
from framework.outbound.breaker import CircuitBreaker
from framework.outbound.cache import ResponseCache, cache_key
from framework.outbound.client import OutboundHTTP
from framework.outbound.health import HEALTH_JOB, health_job_spec
from framework.outbound.journal_writer import JournalWriter
from framework.outbound.policy import OutboundPolicy
from framework.storage.db import Database

#: Set by ``raccord serve`` for its workers: the threads of one gateway process, from
#: which each binding's default bulkhead is derived.
THREADS_ENV = "RACCORD_GATEWAY_THREADS"
DEFAULT_THREADS = 4


class OutboundRuntime:
    def __init__(self, db: Database, runtime: Mapping[str, Any] | None = None) -> None:
        self.db = db
        self.settings = dict(runtime or {})
        self.journal = JournalWriter(db)
        self.cache = ResponseCache(db)
        self.threads = int(os.environ.get(THREADS_ENV) or DEFAULT_THREADS)

    def client(self, binding: Binding, values: Mapping[str, Any], base_dir: str = ".") -> OutboundHTTP:
        """The outbound client of one binding, with its policy, breaker and journal."""
        policy = OutboundPolicy.from_settings(values, base_dir)
        inst, prof = binding.instance.name, binding.profile.name
        breaker = CircuitBreaker(binding.id, threshold=policy.breaker_threshold,
                                 reset_seconds=policy.breaker_reset_seconds,
                                 listener=availability.recorder(self.db, inst, prof))
        return OutboundHTTP(binding.id, policy=policy, breaker=breaker, journal=self.journal,
                            secrets=binding.secret_values(), threads=self.threads)

    def add_health_job(self, binding: Binding, jobs: MutableMapping[str, JobSpec]) -> None:
        """Give a binding whose connector defines ``health_check`` the built-in periodic
        ``health_check`` job: the scheduler fires it like any job, a worker runs it."""
        if getattr(binding.connector.cls, "health_check", None) is not Connector.health_check:
            jobs.setdefault(HEALTH_JOB, health_job_spec(self.health_check_interval))

    def cached(self, binding: Binding, spec: EndpointSpec, call: Call,
               produce: Callable[[], Any]) -> Any:
        """The endpoint's answer from this binding's cache, or ``produce()`` cached."""
        key = cache_key(spec.name, call.params, call.path, call.user)
        return self.cache.get_or_call(binding.instance.name, binding.profile.name, key,
                                      spec.cache_seconds, produce)

    @property
    def journal_retention_days(self) -> float:
        return float(self.settings.get("journal_retention_days", 30))

    @property
    def health_check_interval(self) -> float:
        """Seconds between health checks of a binding (``[runtime] health_check_interval``)."""
        return float(self.settings.get("health_check_interval", 300))

    def close(self) -> None:
        self.journal.close()

