"""A toy connector for the cost and override-ledger tests."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, JobRun, Param, Setting, endpoint, extension, hookimpl, job
from framework.registry import ConnectorRegister


class Toy(Connector):
    """A toy connector."""

    id = "toy"
    title = "Toy"

    url = Setting(str, "https://example.invalid", "the business server", variability="instance")
    categories = Setting(list, ["voirie", "eclairage"], "categories of the common project")
    limit = Setting(int, 10, "items per answer")
    version = Setting(str, "v1", "protocol version", variability="fixed")

    @endpoint(permission="open", description="Search.", params=[Param("q", str, "text", "rue")])
    def search(self, call: Call) -> dict[str, Any]:
        return {"who": "common", "label": self.label("x")}

    @endpoint(permission="open", description="Reverse.")
    def reverse(self, call: Call) -> dict[str, Any]:
        return {"who": "common"}

    @extension
    def label(self, text: str) -> str:
        return text.upper()

    @job(schedule="daily", description="Sync.")
    def sync(self, run: JobRun) -> None:
        run.advance(1, total=1)


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Toy)
