"""One test (at least) per hook of framework/hookspecs.py; test_meta.py checks that."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest

from framework import Connector, hookimpl
from framework.config.model import Territory
from framework.config.report import Report
from framework.errors import PluginError
from framework.plugins import load_registry, make_plugin_manager
from framework.registry import ConnectorRegister, ConnectorRegistry
from framework.testing import check_text, make_raccord
from tests.framework import demo_connector, demo_override

TERRITORY = textwrap.dedent('''\
    [profiles.tickets]
    connector = "demo"

    [instances.metz]
    insee = ["57463"]
    profiles = ["tickets"]
    [instances.metz.settings.tickets]
    url = "https://gru.metz.example"
    password = { env = "DEMO_PASSWORD" }
    [instances.metz.overrides.tickets]
    plugin = "contrib.metz.tickets"
    reason = "Metz wants its own echo"

    [instances.woippy]
    insee = ["57751"]
    profiles = ["tickets"]
    [instances.woippy.settings.tickets]
    url = "https://gru.woippy.example"
    password = { env = "DEMO_PASSWORD" }
    ''')


def test_raccord_register_connectors_adds_types_and_refuses_duplicates() -> None:
    registry = load_registry(make_plugin_manager(plugins=[demo_connector], entry_points=False))
    assert list(registry) == ["demo"]
    assert set(registry["demo"].endpoints) == {"echo", "push", "item", "settings_"}
    assert registry["demo"].settings["url"].variability == "instance"
    assert "connect_timeout" in registry["demo"].settings  # inherited from the base class

    twin = types.ModuleType("twin_plugin")

    @hookimpl
    def raccord_register_connectors(register: ConnectorRegister) -> None:
        register.add(demo_connector.Demo)

    twin.raccord_register_connectors = raccord_register_connectors  # type: ignore[attr-defined]
    pm = make_plugin_manager(plugins=[demo_connector, twin], entry_points=False)
    with pytest.raises(PluginError, match=r"already registered by tests\.framework\.demo_connector"):
        load_registry(pm)


def test_raccord_register_connectors_rejects_a_class_without_id() -> None:
    class NoId(Connector):
        pass

    register = ConnectorRegister()
    with pytest.raises(PluginError, match=r"NoId: set a class attribute id"):
        register.add(NoId)


def test_plugins_can_be_blocked_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    pm = make_plugin_manager(plugins=[demo_connector], block=["tests.framework.demo_connector"],
                             entry_points=False)
    assert list(load_registry(pm)) == []
    monkeypatch.setenv("RACCORD_BLOCK_PLUGINS", "csv_datasource")
    registry = load_registry(make_plugin_manager())
    assert "csv_datasource" not in registry


def test_a_hookimpl_with_a_wrong_signature_names_the_plugin_and_the_fix() -> None:
    bad = types.ModuleType("bad_plugin")

    @hookimpl
    def raccord_register_connectors(registry: object) -> None:  # wrong parameter name
        pass

    bad.raccord_register_connectors = raccord_register_connectors  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=r"(?s)'bad_plugin'.*registry.*framework/hookspecs.py"):
        make_plugin_manager(plugins=[bad], entry_points=False)


def test_raccord_override_changes_only_the_declaring_instance(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Serve tests/framework/demo_override.py as contrib.metz.tickets for this test.
    monkeypatch.setitem(__import__("sys").modules, "contrib.metz.tickets", demo_override)
    monkeypatch.setenv("DEMO_PASSWORD", "x")
    r = make_raccord(TERRITORY, tmp_path, plugins=[demo_connector], entry_points=False)
    try:
        metz, woippy = r.bound("metz", "tickets"), r.bound("woippy", "tickets")
        assert r.invoke("metz", "tickets", "echo", params={"q": "A"})["overridden"] is True
        assert "overridden" not in r.invoke("woippy", "tickets", "echo", params={"q": "A"})
        assert r.invoke("metz", "tickets", "hello", params={"who": "x"}) == "hello x"
        assert "hello" not in woippy.endpoints
        assert metz.connector.label("a") == "[a]" and woippy.connector.label("a") == "A"  # type: ignore[attr-defined]
        assert metz.endpoints["echo"].override == "metz/tickets"
        assert metz.override is not None
        assert [(c.kind, c.target) for c in metz.override.changes] == [
            ("replace_endpoint", "echo"), ("add_endpoint", "hello"), ("set_extension", "label")]
    finally:
        r.close()


def test_raccord_check_findings_reach_the_report_with_lines(tmp_path: Path) -> None:
    extra = types.ModuleType("extra_checks")

    @hookimpl
    def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
        for inst in territory.instances.values():
            if not inst.identity:
                report.warning(("instances", inst.name), f"{inst.name} has no identity (logo, colour)")

    extra.raccord_check = raccord_check  # type: ignore[attr-defined]
    report = check_text(TERRITORY, tmp_path, plugins=[demo_connector, extra], entry_points=False)
    warnings = [str(w) for w in report.warnings]
    assert any("instances.toml:4: instances.metz: metz has no identity" in w for w in warnings), warnings
