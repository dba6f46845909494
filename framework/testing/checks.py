"""The standard checks every connector gets for free (Airbyte's acceptance tests,
Meltano's ``get_tap_test_class``).

Subclass :class:`ConnectorChecks` in a test module, name the connector class and, for
the journal check, a territory binding it; pytest collects the checks::

    class TestMyConnectorStandard(ConnectorChecks):
        connector = MyConnector
        territory = '''
        [profiles.p]
        connector = "my_connector"
        [instances.metz]
        profiles = ["p"]
        [instances.metz.settings.p]
        url = "https://server.example"
        token = { env = "MY_TOKEN" }
        '''

:func:`connector_problems` is the same list of checks as plain code.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any, ClassVar

from framework.connector import Connector, describe
from framework.declarations import ConnectorInfo, EndpointSpec
from framework.errors import RaccordError


def connector_problems(cls: type[Connector]) -> list[str]:
    """What is wrong with a connector's declarations: each endpoint's examples convert
    to their parameters' types, its body schema is a valid JSON Schema and its body
    example validates, and its documentation page can be generated."""
    info = describe(cls)
    problems: list[str] = []
    for spec in info.endpoints.values():
        problems += _example_problems(spec) + _schema_problems(spec)
    problems += _doc_problems(info)
    return problems


def _example_problems(spec: EndpointSpec) -> list[str]:
    from framework.params import convert_params

    try:
        convert_params(spec, spec.example_query())
    except RaccordError as exc:
        return [f"endpoint {spec.name}: its examples are refused: {exc.describe()}"]
    return []


def _schema_problems(spec: EndpointSpec) -> list[str]:
    if spec.body_schema is None:
        return []
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(dict(spec.body_schema))
    except SchemaError as exc:
        return [f"endpoint {spec.name}: body_schema is not a valid JSON Schema: {exc.message}"]
    if spec.body_example is None:
        return [f"endpoint {spec.name}: declares body_schema but no body_example"]
    errors = list(Draft202012Validator(dict(spec.body_schema)).iter_errors(spec.body_example))
    return [f"endpoint {spec.name}: body_example does not match body_schema: {e.message}" for e in errors[:3]]


def _doc_problems(info: ConnectorInfo) -> list[str]:
    from framework.docgen import connector_page

    page = connector_page(info)
    return [f"endpoint {name}: missing from the generated documentation page"
            for name in info.endpoints if f"### `{name}`" not in page]


class ConnectorChecks:
    """Standard tests of a connector; see the module docstring."""

    #: the connector class under test
    connector: ClassVar[type[Connector]]
    #: a territory binding it (TOML); needed by the journal check only
    territory: ClassVar[str] = ""
    #: plugins registering the connector when no installed entry point does (tests of
    #: this repository); an installed package leaves it empty
    plugins: ClassVar[tuple[object, ...]] = ()

    def test_declarations_are_sound(self) -> None:
        """Examples convert, body schemas are valid and their examples validate,
        documentation is generated for every endpoint."""
        assert connector_problems(self.connector) == []

    def test_secrets_never_in_the_journal(self, tmp_path: Path, monkeypatch: Any) -> None:
        """Every endpoint called with its examples, each secret setting a unique canary
        value and every outbound call answered ``{}``: no canary in the journal."""
        import pytest

        if not self.territory:
            pytest.skip("set `territory` (TOML binding the connector) to run the journal check")
        canaries = _canaries(self.territory, monkeypatch)
        _call_everything(self.territory, tmp_path, self.plugins)
        text = _journal_text(tmp_path)
        leaked = [c for c in canaries if c in text]
        assert not leaked, "secret values appear in the journal"


def _canaries(territory: str, monkeypatch: Any) -> list[str]:
    """Give every environment reference of the territory a unique canary value."""
    canaries = []
    for name in sorted(set(re.findall(r'env\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"', territory))):
        value = f"canary-{secrets.token_hex(8)}"
        monkeypatch.setenv(name, value)
        canaries.append(value)
    return canaries


def _call_everything(territory: str, tmp_path: Path, plugins: tuple[object, ...]) -> None:
    import responses

    from framework.testing import make_raccord

    raccord = make_raccord(territory, tmp_path, plugins=plugins)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                mock.add(method, re.compile(r".*"), json={})
            for instance, profile in raccord.territory.bindings:
                bound = raccord.bound(instance, profile)
                for spec in bound.endpoints.values():
                    _call_quietly(raccord, instance, profile, spec)
    finally:
        raccord.close()  # flushes the journal


def _call_quietly(raccord: Any, instance: str, profile: str, spec: EndpointSpec) -> None:
    # An answer of {} may not satisfy the connector: only what reaches the journal matters.
    import contextlib

    method = spec.methods[0]
    with contextlib.suppress(Exception):  # the check is about the journal, not the answer
        raccord.invoke(instance, profile, spec.name, method=method, params=spec.example_query(),
                       body=spec.body_example if method != "GET" else None)


def _journal_text(tmp_path: Path) -> str:
    from sqlalchemy import create_engine, select

    from framework.storage.schema import journal

    engine = create_engine(f"sqlite:///{tmp_path / 'raccord.sqlite3'}")
    try:
        with engine.connect() as conn:
            return "\n".join(repr(tuple(row)) for row in conn.execute(select(journal)))
    finally:
        engine.dispose()
