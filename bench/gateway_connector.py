"""The connector bench/gateway.py serves with ``raccord serve --role gateway``
(``RACCORD_PLUGINS=bench.gateway_connector``): one open endpoint and one signed one,
each GETting the upstream's JSON through the binding's HTTP client."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, Setting, endpoint, hookimpl
from framework.registry import ConnectorRegister


class BenchEcho(Connector):
    """Forwards to the benchmark's upstream (nginx serving a static JSON)."""

    id = "bench_echo"
    title = "bench"
    url = Setting(str, description="upstream JSON URL", variability="instance")

    @endpoint(permission="open", description="GET the upstream's JSON.")
    def echo(self, call: Call) -> Any:
        return self.http.get_json(self.settings.url)

    @endpoint(permission="call", description="Same, for signed clients only.")
    def signed(self, call: Call) -> Any:
        return self.http.get_json(self.settings.url)


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(BenchEcho)
