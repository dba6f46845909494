"""An entry point may name a connector class (or a module defining one) directly; the
HTTP client's JSON helpers map each status class as documented."""

from __future__ import annotations

import types
from typing import Any

import pytest
import responses

from framework import Call, Connector, NotFound, UpstreamError, endpoint
from framework.plugins import as_plugin, load_registry, make_plugin_manager
from framework.testing import FakeServer, TerritoryFactory, call


class Direct(Connector):
    """Registered by naming the class in the entry point."""

    id = "kit_direct"

    @endpoint(description="Hello.", permission="open")
    def hello(self, call: Call) -> Any:
        return "hello"


def test_an_entry_point_may_name_the_class() -> None:
    pm = make_plugin_manager(plugins=[as_plugin(Direct)], entry_points=False)
    assert "kit_direct" in load_registry(pm)


def test_an_entry_point_may_name_a_module_defining_the_class() -> None:
    module = types.ModuleType("kit_module")
    Own = type("Own", (Connector,), {"id": "kit_own", "__module__": "kit_module", "__doc__": "Own."})
    module.Own = Own  # type: ignore[attr-defined]
    module.Imported = Direct  # type: ignore[attr-defined]  # defined elsewhere: not registered twice
    registry = load_registry(make_plugin_manager(plugins=[as_plugin(module)], entry_points=False))
    assert "kit_own" in registry and "kit_direct" not in registry


def test_a_module_with_hooks_is_registered_as_it_is() -> None:
    from tests.framework.testing import jobby

    assert as_plugin(jobby) is jobby


TERRITORY = """
[profiles.p]
connector = "kit_http"
[instances.metz]
profiles = ["p"]
[instances.metz.settings.p]
url = "{url}"
"""


class Http(Connector):
    """Exercises the JSON helpers."""

    id = "kit_http"
    from framework import Setting

    url = Setting(str, description="server", variability="instance")

    @endpoint(description="A ticket, None when the server has none.", permission="open")
    def ticket(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/tickets/1", on_404="none")

    @endpoint(description="A ticket, 404 when the server has none.", permission="open")
    def strict(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/tickets/1", on_404="not_found")

    @endpoint(description="A ticket, 502 when the server has none.", permission="open")
    def default(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/tickets/1")

    @endpoint(methods=["POST"], description="Create a ticket.", permission="can_access")
    def create(self, call: Call) -> Any:
        return self.http.post_json(f"{self.settings.url}/tickets", {"title": "x"}, idempotency_key="k-1")


@pytest.fixture
def http_territory(raccord_territory: TerritoryFactory, fake_server: FakeServer) -> Any:
    return raccord_territory(TERRITORY.format(url=fake_server.url), plugins=(as_plugin(Http),), entry_points=False)


def test_on_404(http_territory: Any, fake_server: FakeServer) -> None:
    fake_server.add("GET", "/tickets/1", json={"detail": "no such ticket"}, status=404)
    assert call(http_territory, "metz/p/ticket") is None
    with pytest.raises(NotFound, match="has no such object"):
        call(http_territory, "metz/p/strict")
    with pytest.raises(UpstreamError, match="answered HTTP 404"):
        call(http_territory, "metz/p/default")


def test_post_json_sends_the_key_and_decodes(http_territory: Any, fake_server: FakeServer) -> None:
    fake_server.add("POST", "/tickets", json={"id": 9}, status=201)
    assert call(http_territory, "metz/p/create", method="POST") == {"id": 9}
    sent = fake_server.received("POST", "/tickets")[0]
    assert sent.json == {"title": "x"} and sent.headers["Idempotency-Key"] == "k-1"
    fake_server.add("POST", "/tickets", body=b"", status=204)
    fake_server.add("POST", "/tickets", json={"error": "refused"}, status=422)
    assert call(http_territory, "metz/p/create", method="POST") is None
    with pytest.raises(UpstreamError, match="answered HTTP 422"):
        call(http_territory, "metz/p/create", method="POST")


@responses.activate
def test_get_json_5xx_is_retried_then_an_upstream_error(raccord_territory: TerritoryFactory) -> None:
    responses.get("https://t.example/tickets/1", status=503)
    raccord = raccord_territory(TERRITORY.format(url="https://t.example") + "retry_backoff = 0.0\n",
                                plugins=(as_plugin(Http),), entry_points=False)
    with pytest.raises(UpstreamError, match="HTTP 503"):
        call(raccord, "metz/p/default")
    assert len(responses.calls) == 3  # the call and its two default retries
