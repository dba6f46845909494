"""A connector for the serve tests: pushes queued as jobs and delivered to a fake
business server, and a periodic job that reports each run there too.

Served by the real ``raccord serve`` (and its background process) through
``RACCORD_PLUGINS=tests.framework.serve.plugin``, so it must stay importable alone.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from framework import (
    Accepted,
    Call,
    Connector,
    JobRun,
    Report,
    Setting,
    Territory,
    UpstreamError,
    endpoint,
    hookimpl,
    job,
)
from framework.registry import ConnectorRegister, ConnectorRegistry

#: A file where each process that loads the territory appends its pid (the load test).
LOADS_ENV = "SERVE_TEST_LOADS"


class ServeTest(Connector):
    """Pushes delivered by jobs, for the serve fault tests."""

    id = "serve_test"
    title = "Serve test"

    server = Setting(str, "", "the fake business server", variability="instance")

    @endpoint(methods=("POST",), description="Queue a push; answer 202.", permission="can_access")
    def push(self, call: Call) -> Accepted:
        assert self.ctx.queue is not None
        key = str(dict(call.body)["key"])
        return Accepted(self.ctx.queue.enqueue("deliver", {"key": key}, idempotency_key=key))

    @endpoint(description="Answer without touching the database.", permission="can_access")
    def hello(self, call: Call) -> Any:
        return {"instance": self.ctx.binding.instance.name}

    @endpoint(description="The serving process: its pid and how many objects it keeps out of the collector.",
              permission="can_access")
    def process(self, call: Call) -> Any:
        return {"pid": os.getpid(), "frozen": gc.get_freeze_count()}

    @job(schedule="daily", description="Deliver one queued push to the business server.")
    def deliver(self, run: JobRun) -> dict[str, Any]:
        response = self.http.request("POST", f"{self.settings.server}/deliver",
                                     json={"key": run.payload["key"]}, headers={"Idempotency-Key": run.payload["key"]})
        if response.status_code >= 400:
            raise UpstreamError(f"the server answered {response.status_code}")
        return {"status": response.status_code}

    @job(schedule="every 2s", description="Record that the scheduler fired.")
    def tick(self, run: JobRun) -> None:
        self.http.request("POST", f"{self.settings.server}/deliver", json={"key": f"tick-{run.job_id}"})


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(ServeTest)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Runs once per load of the territory: say which process loaded it."""
    if path := os.environ.get(LOADS_ENV):
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()}\n")
