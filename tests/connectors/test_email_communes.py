"""The notification of the example territory, rendered for each of its 46 communes.

Every commune's message is the common template with only its own identity in it
(name, logo, colours, contact, sender): once those are replaced by placeholders, the
46 renderings are identical — except a commune that declares its own template, whose
message differs and whose binding carries the override.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.app import Raccord
from tests.conftest import ROOT

SAMPLE = {"ref": "signalements-1", "service_request_id": "1001", "service_name": "Voirie",
          "description": "Nid-de-poule", "address": "1 rue de la Gare", "status": "closed",
          "status_label": "traitée", "notes": "Rebouché"}
OWN_TEMPLATE = """
[instances.marly.overrides.courriel]
reason = "Marly a sa propre charte graphique pour ses courriels"
owner = "Service communication, mairie de Marly"
review_by = 2027-06-30
cost = { setup_days = 0.5, yearly_days = 0.25 }
"""


def communes(raccord: Raccord) -> list[str]:
    return sorted(name for name, inst in raccord.territory.instances.items() if inst.insee)


def serving(raccord: Raccord, name: str, profile: str = "courriel") -> str:
    """The instance whose binding speaks for ``name``: its own, else its host's."""
    instance = raccord.territory.instances[name]
    while (instance.name, profile) not in raccord.territory.bindings:
        assert instance.hosted_by, f"{name} has no {profile} binding, nor a host with one"
        instance = raccord.territory.instances[instance.hosted_by]
    return instance.name


def rendered(raccord: Raccord, name: str) -> tuple[dict[str, str], Any]:
    host = serving(raccord, name)
    bound = raccord.bound(host, "courriel")
    message = bound.connector.compose("citoyen@example.org", "status", name, SAMPLE, "k")  # type: ignore[attr-defined]
    parts = {p.get_content_subtype(): p.get_content() for p in message.iter_parts()}
    identity = bound.connector.ctx.identity(name)
    text = {"subject": message["Subject"], "from": message["From"], "reply_to": message["Reply-To"] or "",
            "plain": parts["plain"], "html": parts["html"]}
    return _neutral(text, identity, message["From"].addresses[0].addr_spec), bound.endpoints["preview"]


def _neutral(text: dict[str, str], identity: dict[str, str], sender: str) -> dict[str, str]:
    """The message with the commune's own values replaced by placeholders."""
    # The signature too is identity: the instance's own, or the common default.
    signature = identity.get("signature") or f"Les services de {identity['name']}"
    own = [(f"<{k}>", v) for k, v in identity.items() if v and k not in ("instance", "signature")]
    own += [("<sender>", sender), ("<signature>", signature)]
    values = sorted(own, key=lambda kv: len(kv[1]), reverse=True)  # "noreply-x@…" before "x@…"
    out = {}
    for key, value in text.items():
        for placeholder, own in values:
            value = value.replace(own, placeholder)
        out[key] = value
    return out


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Raccord]:
    (tmp_path / "data").symlink_to(ROOT / "data")  # the example's relative paths
    yield _open(tmp_path, "")


def _open(tmp_path: Path, extra: str, template_dir: str = "") -> Raccord:
    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    if template_dir:  # in Marly's own courriel table
        table = "[instances.marly.settings.courriel]\n"
        text = text.replace(table, f'{table}template_dir = "{template_dir}"\n', 1)
    config = tmp_path / "instances.toml"
    config.write_text(text + extra, encoding="utf-8")
    return Raccord.open(config, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")


def test_the_example_has_46_communes_each_served_by_a_courriel_binding(example: Raccord) -> None:
    try:
        names = communes(example)
        assert len(names) == 46
        hosts = {serving(example, n) for n in names}
        assert hosts == {"metz", "montigny-les-metz", "marly", "communes"}
        assert {serving(example, n, "signalements") for n in names} == hosts
    finally:
        example.close()


def test_every_commune_gets_the_same_message_but_for_its_identity(example: Raccord) -> None:
    try:
        renderings = {name: rendered(example, name)[0] for name in communes(example)}
    finally:
        example.close()
    reference = renderings["metz"]
    different = sorted(name for name, text in renderings.items() if text != reference)
    assert different == []
    # …and each is really in its own name: not one message names another commune.
    assert "<name>" in reference["subject"] and "<name>" in reference["from"]


def test_a_declared_template_of_its_own_is_the_only_difference(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    own = tmp_path / "marly-courriel"
    own.mkdir()
    (own / "status.subject.txt").write_text("{{ identity.name }} vous répond", encoding="utf-8")
    raccord = _open(tmp_path, OWN_TEMPLATE, str(own))
    try:
        results = {name: rendered(raccord, name) for name in communes(raccord)}
    finally:
        raccord.close()
    reference = results["metz"][0]
    different = sorted(name for name, (text, _) in results.items() if text != reference)
    assert different == ["marly"]
    assert results["marly"][0]["subject"] == "<name> vous répond"
    # Only the subject was replaced (the HTML shows it as its title): the rest is common.
    assert results["marly"][0]["html"].replace(" vous répond", " : votre signalement est traitée") \
        == reference["html"]
    flagged = sorted(name for name, (_, spec) in results.items() if spec.override)
    assert flagged == ["marly"]
