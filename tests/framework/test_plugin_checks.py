"""Plugin-level invariants: a misspelt hook implementation, or a connector whose
declarations the verifier refuses, is a load error naming the plugin."""

from __future__ import annotations

import types

import pytest

from framework import Call, Connector, ConnectorRegister, Param, PluginError, Setting, endpoint, hookimpl
from framework.plugins import load_registry, make_plugin_manager


def test_a_misspelt_hookimpl_is_a_load_error_naming_the_plugin() -> None:
    plugin = types.ModuleType("acme_connectors")

    @hookimpl
    def raccord_regster_connectors(register: ConnectorRegister) -> None:
        raise AssertionError("never called")

    plugin.raccord_regster_connectors = raccord_regster_connectors  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as caught:
        make_plugin_manager(plugins=[plugin], entry_points=False)
    assert "acme_connectors" in str(caught.value) and "raccord_regster_connectors" in str(caught.value)


def _register(cls: type[Connector]) -> None:
    plugin = types.ModuleType("acme")

    @hookimpl
    def raccord_register_connectors(register: ConnectorRegister) -> None:
        register.add(cls)

    plugin.raccord_register_connectors = raccord_register_connectors  # type: ignore[attr-defined]
    load_registry(make_plugin_manager(plugins=[plugin], entry_points=False))


def test_a_shipped_endpoint_goes_through_the_same_verifier() -> None:
    class Bad(Connector):
        id = "bad"

        @endpoint(permission="open", description="d", params=[Param("limit", int, "n", 500, min=1, max=50)])
        def items(self, call: Call) -> list[str]:
            return []

    with pytest.raises(PluginError, match=r"endpoint 'items': parameter 'limit': its example 500 is refused"):
        _register(Bad)


def test_a_setting_may_not_hide_the_connector_api() -> None:
    class Hiding(Connector):
        id = "hiding"
        store = Setting(str, "x", "where")  # would shadow self.store

    with pytest.raises(PluginError, match=r"would hide Connector\.store"):
        _register(Hiding)


def test_an_endpoint_named_after_a_gateway_path_is_refused() -> None:
    # GET /<instance>/<profile>/jobs/<id> is a job's status: an endpoint "jobs" with a
    # path would never be reached.
    class Shadowed(Connector):
        id = "shadowed"

        @endpoint(permission="open", description="the jobs of the business server", pattern=r"\d+")
        def jobs(self, call: Call) -> list[str]:
            return []

    with pytest.raises(PluginError, match=r"endpoint 'jobs': is named after a path the gateway serves itself"):
        _register(Shadowed)
