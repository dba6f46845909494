"""The loader never raises, whatever well-formed TOML it is given: every problem is a
finding with a line (a structure-aware fuzz, beside the CLI's random-text fuzz)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.config.loader import load
from framework.plugins import load_registry, make_plugin_manager
from tests.framework import demo_connector

REGISTRY = load_registry(make_plugin_manager(plugins=[demo_connector]))
KEYS = ["territory", "costs", "profiles", "instances", "settings", "overrides", "clients", "connector",
        "demo", "base_adresse", "csv_datasource", "metz", "woippy", "hosted_by", "insee", "profiles",
        "signature", "secret", "env", "file", "reason", "review_by", "plugin", "url", "password", "split",
        "jobs", "schedule", "refresh", "cost", "setup_days", "grants", "identity", "color", "kind",
        "population", "apikey", "basic", "username", "algos", "nonce", "page_size", "storage", "gateway"]
SCALARS = st.one_of(st.integers(-3, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans(), st.text(max_size=12), st.sampled_from(KEYS),
                    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=25)
DOCS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def to_toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(DOCS)
def test_any_toml_document_yields_findings_not_exceptions(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "instances.toml"
    path.write_text("\n".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in doc.items()), encoding="utf-8")
    territory, report = load(path, REGISTRY)  # must not raise
    assert territory is not None or report.errors
    for finding in report.findings:
        assert finding.message and str(finding).startswith(str(path))


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _paths(sub, (*prefix, key))
    return found


def _replaced(doc: Any, path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(doc)
    copy[path[0]] = _replaced(copy.get(path[0], {}) if isinstance(copy.get(path[0]), dict) else {},
                              path[1:], value)
    return copy


def _good() -> dict[str, Any]:
    import tomllib

    from tests.framework.config.test_loader import GOOD

    return tomllib.loads(GOOD)


GOOD_DOC = _good()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_paths(GOOD_DOC)), VALUES)
def test_any_one_wrong_value_in_a_good_file_is_a_finding(tmp_path: Path, path: tuple[str, ...],
                                                        value: Any) -> None:
    doc = _replaced(GOOD_DOC, path, value)
    file = tmp_path / "instances.toml"
    file.write_text("\n".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in doc.items()), encoding="utf-8")
    territory, report = load(file, REGISTRY)  # must not raise
    assert territory is not None or report.errors


def _example() -> dict[str, Any]:
    import tomllib

    from tests.conftest import ROOT

    return tomllib.loads((ROOT / "instances.toml").read_text(encoding="utf-8"))


EXAMPLE_DOC = _example()
EXAMPLE_PATHS = [p for p in _paths(EXAMPLE_DOC)
                 if p[0] != "instances" or len(p) == 1 or p[1] in ("metropole", "communes", "metz", "woippy")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(EXAMPLE_PATHS), VALUES)
def test_any_one_wrong_value_in_the_example_is_a_finding(tmp_path: Path, path: tuple[str, ...],
                                                         value: Any) -> None:
    from framework.app import check_config

    doc = _replaced(EXAMPLE_DOC, path, value)
    file = tmp_path / "instances.toml"
    file.write_text("\n".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in doc.items()), encoding="utf-8")
    territory, report, _ = check_config(str(file))  # shipped connectors and built-in checks: must not raise
    assert territory is not None or report.errors
