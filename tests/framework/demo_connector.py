"""A connector for framework tests: one setting of each kind, endpoints of each shape."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, JobRun, Param, Setting, endpoint, extension, hookimpl, job
from framework.registry import ConnectorRegister


class Demo(Connector):
    """A demonstration connector."""

    id = "demo"
    title = "Demo"

    url = Setting(str, description="the business server", variability="instance")
    password = Setting(str, description="its password", secret=True, variability="instance")
    categories = Setting(list, ["voirie", "eclairage"], "categories of the common project")
    page_size = Setting(int, 20, "items per page")
    api_version = Setting(str, "v2", "protocol version", variability="fixed")
    ratio = Setting(float, 1.5, "a number")

    @endpoint(permission="open", description="Echo the parameters.",
              params=[Param("q", str, "text", "rue"), Param("n", int, "a count", 3),
                      Param("flag", bool, "a flag", True)])
    def echo(self, call: Call) -> dict[str, Any]:
        return {"params": dict(call.params), "label": self.label("x")}

    @endpoint(methods=("POST",), description="Accept a body.", permission="can_push",
              body_schema={"type": "object", "required": ["title"],
                           "properties": {"title": {"type": "string"}}},
              body_example={"title": "Nid de poule"})
    def push(self, call: Call) -> dict[str, Any]:
        return {"received": call.body}

    @endpoint(permission="open", description="An item by path.", pattern=r"(?P<ident>[0-9]+)")
    def item(self, call: Call) -> dict[str, Any]:
        return {"ident": call.path_args["ident"]}

    @endpoint(permission="can_access", description="Show the effective settings.")
    def settings_(self, call: Call) -> dict[str, Any]:
        return {"url": self.settings.url, "page_size": self.settings.page_size,
                "categories": self.settings.categories}

    @extension
    def label(self, text: str) -> str:
        return text.upper()

    @job(schedule="every 5m", description="Refresh the categories.")
    def refresh(self, run: JobRun) -> None:
        run.advance(1, total=1)


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Demo)
