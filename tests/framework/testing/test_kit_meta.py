"""Every public fixture and helper of the test kit is documented and tested; the
generated references are current."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import framework.testing as kit
from framework.apidoc import api_page, fixtures, public_names
from framework.apidoc import testing_page as kit_page
from framework.testing import plugin

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
TESTS = "\n".join(p.read_text(encoding="utf-8") for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)
PUBLIC = sorted(fixtures(plugin)) + public_names(kit)


def test_the_kit_has_fixtures_and_helpers() -> None:
    assert {"raccord_territory", "raccord_client", "raccord_live", "fake_server", "raccord_responses"} <= set(
        fixtures(plugin))
    assert {"GatewayClient", "FakeServer", "LiveGateway", "run_job", "stored", "ConnectorChecks"} <= set(
        public_names(kit))


@pytest.mark.parametrize("name", PUBLIC)
def test_documented(name: str) -> None:
    value = fixtures(plugin).get(name) or getattr(kit, name)
    if inspect.isclass(value) or inspect.isfunction(value) or name in fixtures(plugin):
        assert len((inspect.getdoc(value) or "").strip()) > 20, f"{name} needs a docstring"
    assert f"`{name}" in kit_page()


@pytest.mark.parametrize("name", PUBLIC)
def test_tested(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", TESTS), f"no test under {HERE.relative_to(ROOT)} uses {name}"


def test_generated_references_are_current() -> None:
    assert (ROOT / "docs" / "testing.md").read_text(encoding="utf-8") == kit_page(), \
        "docs/testing.md is stale: run `raccord docs`"
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == api_page(), \
        "docs/api.md is stale: run `raccord docs`"
