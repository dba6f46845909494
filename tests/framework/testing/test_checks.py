"""The standard checks find what is wrong with a connector's declarations, and the
journal check finds a secret that reaches the journal."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from framework import Call, Connector, Param, Setting, endpoint
from framework.testing import ConnectorChecks, connector_problems


class Sound(Connector):
    """A connector whose declarations are sound."""

    id = "kit_sound"
    url = Setting(str, description="server", variability="instance")
    token = Setting(str, description="token", secret=True, variability="instance")

    @endpoint(description="Look things up.", params=[Param("n", int, "how many", 3)], permission="open")
    def things(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/things", params={"token": self.settings.token})

    @endpoint(methods=["POST"], description="Make a thing.", permission="can_access",
              body_schema={"type": "object", "required": ["name"]}, body_example={"name": "x"})
    def make(self, call: Call) -> Any:
        return call.body


class Unsound(Connector):
    """Examples that do not fit their declarations."""

    id = "kit_unsound"

    @endpoint(description="A wrong example.", params=[Param("n", int, "how many", "three")], permission="open")
    def things(self, call: Call) -> Any:
        return []

    @endpoint(methods=["POST"], description="A schema that is not one.", permission="can_access",
              body_schema={"type": "thing"}, body_example={})
    def broken(self, call: Call) -> Any:
        return None

    @endpoint(methods=["POST"], description="An example the schema refuses.", permission="can_access",
              body_schema={"type": "object", "required": ["name"]}, body_example={"nom": "x"})
    def mismatch(self, call: Call) -> Any:
        return None

    @endpoint(methods=["POST"], description="A schema without example.", permission="can_access",
              body_schema={"type": "object"})
    def silent(self, call: Call) -> Any:
        return None


def test_sound_declarations_have_no_problem() -> None:
    assert connector_problems(Sound) == []


def test_each_unsound_declaration_is_named() -> None:
    problems = "\n".join(connector_problems(Unsound))
    assert "endpoint things: its examples are refused: parameter 'n': expected an integer" in problems
    assert "endpoint broken: body_schema is not a valid JSON Schema" in problems
    assert "endpoint mismatch: body_example does not match body_schema: 'name' is a required property" in problems
    assert "endpoint silent: declares body_schema but no body_example" in problems


TERRITORY = """
[profiles.p]
connector = "kit_sound"
[instances.metz]
profiles = ["p"]
[instances.metz.settings.p]
url = "https://server.example"
token = { env = "KIT_SOUND_TOKEN" }
"""


class _Plugin:
    """Registers the test connectors (an entry point would, for a real package)."""

    from framework import hookimpl

    @hookimpl
    def raccord_register_connectors(self, register: Any) -> None:
        register.add(Sound)


class TestSoundStandardChecks(ConnectorChecks):
    connector: ClassVar[type[Connector]] = Sound
    territory: ClassVar[str] = TERRITORY
    plugins: ClassVar[tuple[object, ...]] = (_Plugin(),)


def test_the_journal_check_fails_when_masking_is_lost(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is not vacuous: without the outbound journal's masking, the token sent
    as a query parameter reaches the journal and the check says so."""
    from framework.outbound import client

    monkeypatch.setattr(client.OutboundHTTP, "_masked", lambda self, url: url)
    monkeypatch.setattr("framework.journal.redact_url", lambda url: url)
    checks = TestSoundStandardChecks()
    with pytest.raises(AssertionError, match="secret values appear in the journal"):
        checks.test_secrets_never_in_the_journal(tmp_path, monkeypatch)
