"""A connector calling a configurable business server, for outbound/runtime tests."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, Param, Setting, endpoint, hookimpl
from framework.registry import ConnectorRegister


class Flaky(Connector):
    """Calls ``url`` (a local test server)."""

    id = "flaky"
    title = "Flaky"

    url = Setting(str, description="the business server", variability="instance")

    @endpoint(permission="open", description="Cached lookup.", params=[Param("q", str, "text", "rue")],
              cache_seconds=60)
    def lookup(self, call: Call) -> dict[str, Any]:
        data = self.http.get_json(f"{self.settings.url}/lookup", params={"q": call.params.get("q")})
        return {"q": call.params.get("q"), "server": data}

    @endpoint(permission="open", description="Uncached fetch.")
    def fetch(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/fetch")

    def health_check(self) -> None:
        self.http.get_json(f"{self.settings.url}/health")


class Quiet(Connector):
    """No health check: its calls alone decide its availability."""

    id = "quiet"
    title = "Quiet"


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Flaky)
    register.add(Quiet)


def territory(url_metz: str, url_woippy: str, *, extra: str = "", runtime: str = "") -> str:
    return f'''\
[runtime]
{runtime}

[profiles.tickets]
connector = "flaky"

[profiles.quiet]
connector = "quiet"

[instances.metz]
insee = ["57463"]
profiles = ["tickets", "quiet"]
[instances.metz.settings.tickets]
url = "{url_metz}"
retries = 0
breaker_threshold = 2
breaker_reset_seconds = 0.3
{extra}

[instances.woippy]
insee = ["57751"]
profiles = ["tickets"]
[instances.woippy.settings.tickets]
url = "{url_woippy}"
retries = 0
'''
