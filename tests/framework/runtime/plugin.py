"""A connector for the runtime tests: jobs that count, sleep, fail and push.

Imported by spawned worker processes too, so it must stay importable on its own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from framework import Accepted, Call, Connector, JobRun, Setting, UpstreamError, endpoint, hookimpl, job
from framework.registry import ConnectorRegister


class QueueTest(Connector):
    """Jobs for the queue tests."""

    id = "queue_test"
    title = "Queue test"

    out_dir = Setting(str, "", "where jobs write what they did", variability="instance")
    server = Setting(str, "", "the fake business server", variability="instance")
    token = Setting(str, "", "a secret the errors must not show", secret=True, variability="instance")

    def _append(self, name: str, line: str) -> None:
        with open(Path(self.settings.out_dir) / f"{name}-{os.getpid()}.txt", "a", encoding="utf-8") as out:
            out.write(line + "\n")

    @job(schedule="every 5m")
    def count(self, run: JobRun) -> int:
        self._append("count", str(run.payload["n"]))
        return int(run.payload["n"])

    @job(schedule="hourly")
    def slow(self, run: JobRun) -> str:
        self._append("started", str(run.payload["n"]))
        time.sleep(float(run.payload["seconds"]))
        self._append("finished", str(run.payload["n"]))
        return "slept"

    @job(schedule="daily")
    def broken(self, run: JobRun) -> None:
        raise UpstreamError(f"server refused token {self.settings.token} at https://u:{self.settings.token}@x/y")

    @job(schedule="every 1s")
    def tick(self, run: JobRun) -> None:
        return None

    @job(schedule="daily")
    def whoami(self, run: JobRun) -> dict[str, Any]:
        return {"job_id": run.job_id, "attempt": run.attempt, "key": run.idempotency_key}

    @job(schedule="daily")
    def import_streets(self, run: JobRun) -> dict[str, Any]:
        """Like base_adresse's import: report progress item by item."""
        items = [f"street {i}" for i in range(int(run.payload.get("items", 25)))]
        self.store.replace("streets", [(str(i), s, {"id": str(i)}) for i, s in enumerate(items)])
        for _ in items:
            run.advance(1, total=len(items))
        return {"imported": len(items)}

    @job(schedule="daily")
    def push(self, run: JobRun) -> dict[str, Any]:
        response = self.http.request("POST", f"{self.settings.server}/tickets", json=dict(run.payload),
                                     headers={"Idempotency-Key": str(run.payload["key"])})
        if response.status_code >= 400:
            raise UpstreamError(f"the server answered {response.status_code}")
        return {"status": response.status_code}

    @endpoint(permission="can_access", methods=("POST",), description="Queue a push; answer 202.")
    def tickets(self, call: Call) -> Accepted:
        assert self.ctx.queue is not None
        body = dict(call.body)
        return Accepted(self.ctx.queue.enqueue("push", body, idempotency_key=str(body["key"])))


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(QueueTest)
