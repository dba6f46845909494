"""Meta-tests: the project's conventions, kept true by the test suite.

- every hook is documented (docstring, docs/hooks.md up to date) and has a test;
- every shipped connector has tests, a README naming its settings and endpoints, and
  generated docs that match the code;
- every endpoint has a description and examples for its parameters and body.
"""

from __future__ import annotations

import ast
from importlib import metadata

import pytest

from framework.connector import Connector, describe
from framework.declarations import ConnectorInfo
from framework.docgen import connector_page, hook_names, hooks_page
from framework.plugins import ENTRY_POINT_GROUP, load_registry, make_plugin_manager
from tests.conftest import ROOT

REGISTRY = load_registry(make_plugin_manager())
SHIPPED = sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
                 if ep.value.startswith("connectors."))


def _test_function_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def test_there_are_hooks_and_shipped_connectors() -> None:
    assert len(hook_names()) >= 3
    assert {"base_adresse", "csv_datasource"} <= set(SHIPPED)


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented(hook: str) -> None:
    from framework import hookspecs

    doc = getattr(hookspecs, hook).__doc__ or ""
    assert len(doc.strip()) > 80, f"{hook} needs a docstring stating parameters and return semantics"
    assert (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8") == hooks_page(), \
        "docs/hooks.md is stale: run `raccord docs`"


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_has_a_test(hook: str) -> None:
    assert any(hook in name for name in _test_function_names()), f"write a test named test_{hook}_…"


@pytest.mark.parametrize("connector", SHIPPED)
def test_every_shipped_connector_has_tests_and_docs(connector: str) -> None:
    info = REGISTRY[connector]
    tests = ROOT / "tests" / "connectors" / f"test_{connector}.py"
    assert tests.exists(), f"{connector} has no {tests.relative_to(ROOT)}"
    generated = ROOT / "docs" / "connectors" / f"{connector}.md"
    assert generated.exists() and generated.read_text(encoding="utf-8") == connector_page(info), \
        f"{generated.relative_to(ROOT)} is stale: run `raccord docs`"
    readme = ROOT / "connectors" / connector / "README.md"
    assert readme.exists(), f"{connector} has no README.md"
    text = readme.read_text(encoding="utf-8")
    common = set(describe(Connector).settings)  # the framework's settings, documented once
    own = [n for n in info.settings if n not in common]
    missing = [n for n in [*own, *info.endpoints] if f"`{n}`" not in text]
    assert not missing, f"{readme.relative_to(ROOT)} does not mention {missing}"


def _endpoints() -> list[tuple[ConnectorInfo, str]]:
    return [(REGISTRY[c], e) for c in SHIPPED for e in REGISTRY[c].endpoints]


@pytest.mark.parametrize(("info", "name"), _endpoints(), ids=lambda v: getattr(v, "id", v))
def test_every_endpoint_has_a_description_and_examples(info: ConnectorInfo, name: str) -> None:
    spec = info.endpoints[name]
    assert len(spec.description) >= 15, f"{info.id}.{name}: describe the endpoint"
    for param in spec.params:
        assert param.description, f"{info.id}.{name}: parameter {param.name} needs a description"
    if spec.params:
        assert spec.example_query(), f"{info.id}.{name}: give at least one parameter an example"
    for param in spec.params:
        if param.required:
            assert param.example is not None, f"{info.id}.{name}: required {param.name} needs an example"
    if spec.body_schema is not None:
        assert spec.body_example is not None, f"{info.id}.{name}: a body schema needs a body example"


def test_readme_shows_the_current_costs_of_the_example() -> None:
    from click.testing import CliRunner

    from framework.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(ROOT / "instances.toml"), "costs", "--width", "132"])
    assert result.exit_code == 0, result.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert result.output.rstrip() in readme, "README's costs table is stale: paste `raccord costs --width 132`"


def test_configuration_reference_is_generated_from_the_declarations() -> None:
    from framework.config import sections
    from framework.docgen import configuration_page

    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == configuration_page(page), "docs/configuration.md is stale: run `raccord docs`"
    for name, section in sections.FRAMEWORK_SECTIONS.items():
        for key in section.fields:
            assert f"| `{key}` |" in page, f"[{name}] {key} is not in docs/configuration.md"
