"""A connector with a job, for the test kit's tests (a plugin module)."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, JobRun, Setting, endpoint, hookimpl, job
from framework.registry import ConnectorRegister


class Jobby(Connector):
    """Keeps the business server's categories."""

    id = "kit_jobby"
    title = "test kit connector"
    url = Setting(str, description="business server", variability="instance")

    @job(schedule="every 6h", description="Store the categories.")
    def sync(self, run: JobRun) -> int:
        found = self.http.get_json(f"{self.settings.url}/categories")
        self.store.replace("categories", ((c["code"], c["label"], c) for c in found))
        run.advance(len(found), total=len(found))
        return len(found)

    @endpoint(description="The stored categories.", permission="open")
    def categories(self, call: Call) -> Any:
        return self.store.search("categories")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Jobby)
