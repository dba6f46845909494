"""The harmonisation advisor and club-funded overrides, worked out to the cent.

Day rate 800 €, population split, no floor. Profile ``adresse`` (toy connector)
3 + 1 days. Overrides of 0.5 + 0.25 days cost 600 € the first year, 200 € after.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework.cli import cli
from framework.costs.advise import advise
from framework.costs.compute import Amount
from framework.costs.scenarios import report_for
from tests.framework.checks.conftest import contrib_dir, write_override  # noqa: F401
from tests.framework.costs.territory import load

TODAY = dt.date(2026, 6, 1)
HEAD = """
[territory]
name = "Territoire des clubs"

[costs]
day_rate_eur = 800
split = "population"
floor_eur = 0

[profiles.adresse]
connector = "toy"
cost = { setup_days = 3, yearly_days = 1 }

[instances.metro]
kind = "metropole"
population = 10000
profiles = ["adresse"]
"""
COMMUNE = """
[instances.{name}]
population = {population}
hosted_by = "metro"
profiles = ["adresse"]
"""
OVERRIDE = """
[instances.{name}.settings.adresse]
limit = 15

[instances.{name}.overrides.adresse]
plugin = "contrib.{name}.adresse"
reason = "{name} wants 15 answers and capitals"
owner = "{name} DSI"
review_by = {review}
cost = {{ setup_days = 0.5, yearly_days = 0.25 }}
"""
# The same code, written differently (name, docstring, comments, layout): equivalent.
CODE = '''
from framework import hookimpl


def {func}(connector, text):
    """{doc}"""
    # {doc}
    return text.upper(  )


@hookimpl
def raccord_override(override):
    override.set_extension("label", {func})
'''


def territory_text(**extra: str) -> str:
    text = HEAD
    for name, population in (("alpha", 1000), ("beta", 3000), ("gamma", 2000), ("delta", 4000)):
        text += COMMUNE.format(name=name, population=population)
    return text + "".join(extra.values())


def test_advisor_finds_two_communes_with_the_same_override(tmp_path: Path, contrib_dir: Path) -> None:  # noqa: F811
    write_override(contrib_dir, "contrib.alpha.adresse", CODE.format(func="capitals", doc="Capitals."))
    write_override(contrib_dir, "contrib.beta.adresse", CODE.format(func="shout", doc="In capitals for La Poste."))
    write_override(contrib_dir, "contrib.gamma.adresse", CODE.format(func="shout", doc="x").replace(
        "text.upper(  )", "text.lower()"))  # different code: not equivalent
    text = territory_text(
        a=OVERRIDE.format(name="alpha", review="2026-01-31"), b=OVERRIDE.format(name="beta", review="2027-01-31"),
        g=OVERRIDE.format(name="gamma", review="2027-01-31"))
    territory = load(tmp_path, text)
    report = report_for(territory, today=TODAY)
    advice = advise(territory, report)
    assert len(advice.candidates) == 1
    found = advice.candidates[0]
    assert found.members == ("alpha", "beta") and found.profile == "adresse"
    assert "setting limit = 15" in found.what and any("extension label (same code)" in w for w in found.what)
    # Promoting it into the common project: each stops paying 600 € / 200 €; the territory 1 200 € / 400 €.
    assert found.costs == {"alpha": Amount(60_000, 20_000), "beta": Amount(60_000, 20_000)}
    assert found.promote_saving == Amount(120_000, 40_000)
    # As a club: one override of 600 € / 200 € split by population 1000:3000 → 150 € / 450 € (50 / 150).
    assert found.club_parts == {"alpha": Amount(15_000, 5_000), "beta": Amount(45_000, 15_000)}
    assert found.club_saving("alpha") == Amount(45_000, 15_000)
    assert found.club_saving("beta") == Amount(15_000, 5_000)
    assert found.club_total_saving == Amount(60_000, 20_000)
    assert found.overdue == ("alpha",)
    assert [o.id for o in advice.overdue] == ["alpha/adresse"]


def test_costs_advise_in_json_and_table(tmp_path: Path, contrib_dir: Path,  # noqa: F811
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write_override(contrib_dir, "contrib.alpha.adresse", CODE.format(func="capitals", doc="Capitals."))
    write_override(contrib_dir, "contrib.beta.adresse", CODE.format(func="shout", doc="Shout."))
    text = territory_text(a=OVERRIDE.format(name="alpha", review="2026-01-31"),
                          b=OVERRIDE.format(name="beta", review="2027-01-31"))
    path = tmp_path / "instances.toml"
    load(tmp_path, text)  # validates
    monkeypatch.setattr("framework.loading.make_plugin_manager", _toy_pm)
    result = CliRunner().invoke(cli, ["--config", str(path), "costs", "--advise", "--today", "2026-06-01",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["advice"]
    assert data["candidates"][0]["promote"]["territory_saving"] == {"first_year_cents": 120_000,
                                                                     "recurring_cents": 40_000}
    assert data["overdue"][0]["id"] == "alpha/adresse"
    result = CliRunner().invoke(cli, ["--config", str(path), "costs", "--advise", "--today", "2026-06-01"])
    assert "Harmonise" in result.output and "1\u202f200,00 €" in result.output, result.output


def _toy_pm(*args: object, **kwargs: object) -> object:
    from framework.plugins import make_plugin_manager as real
    from tests.framework.costs import toy

    return real(plugins=[toy], entry_points=False)


CLUB = """
[clubs.capitales]
name = "Club des capitales"
profile = "adresse"
members = ["alpha", "beta", "gamma"]
reason = "15 answers for three communes' mail merge"
owner = "Club des capitales (alpha)"
review_by = 2027-06-30
settings = { limit = 15 }
cost = { setup_days = 1, yearly_days = 0.35 }
"""


def test_a_club_override_of_three_communes_splits_its_cost_to_the_cent(tmp_path: Path) -> None:
    territory = load(tmp_path, territory_text(c=CLUB))
    assert {m: territory.binding(m, "adresse").override.club for m in ("alpha", "beta", "gamma")} == {
        "alpha": "capitales", "beta": "capitales", "gamma": "capitales"}
    assert territory.binding("beta", "adresse").value("limit") == 15
    assert territory.binding("delta", "adresse").override is None
    report = report_for(territory, today=TODAY)
    [club] = report.overrides  # one ledger line
    assert club.id == "club:capitales" and club.members == ("alpha", "beta", "gamma")
    # 1.35 days × 800 € = 1 080 € first year; 0.35 × 800 = 280 € after; by population 1000:3000:2000.
    # 1 080 € → 180, 540, 360 exactly. 280 € → 46.666…, 140, 93.333…: 4 666.67 + 14 000 + 9 333.33 cents,
    # one cent left over goes to alpha (remainder .67): 4 667 + 14 000 + 9 333 = 28 000.
    assert club.amount == Amount(108_000, 28_000)
    assert club.parts == {"alpha": Amount(18_000, 4_667), "beta": Amount(54_000, 14_000),
                          "gamma": Amount(36_000, 9_333)}
    assert {i.name: i.overrides for i in report.instances if i.overrides != Amount()} == club.parts
    assert sum(p.recurring for p in club.parts.values()) == club.amount.recurring


def test_club_shares_and_mistakes_are_checked_at_their_line(tmp_path: Path) -> None:
    shares = CLUB.replace('settings = { limit = 15 }', 'shares = { alpha = 1, beta = 1, gamma = 2 }')
    report = report_for(load(tmp_path, territory_text(c=shares)), today=TODAY)
    assert report.overrides[0].parts["gamma"] == Amount(54_000, 14_000)  # half of 1 080 € / 280 €
    from framework.app import check_config
    from tests.framework.costs import toy

    bad = (CLUB.replace('"alpha", "beta", "gamma"', '"alpha", "betta", "gamma"')
           .replace("settings = { limit = 15 }", 'settings = { version = "v2" }'))
    path = tmp_path / "bad.toml"
    path.write_text(territory_text(c=bad), encoding="utf-8")
    from framework.plugins import make_plugin_manager

    _, found, _ = check_config(str(path), make_plugin_manager(plugins=[toy], entry_points=False))
    errors = {f.dotted: f for f in found.errors}
    lines = path.read_text().splitlines()
    assert "unknown instance 'betta'" in errors["clubs.capitales.members"].message
    assert "betta" in lines[errors["clubs.capitales.members"].line - 1]
    assert "club sets shared settings only" in errors["clubs.capitales.settings.version"].message


def test_check_and_explain_show_the_club_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load(tmp_path, territory_text(c=CLUB))
    monkeypatch.setattr("framework.loading.make_plugin_manager", _toy_pm)
    path = str(tmp_path / "instances.toml")
    out = CliRunner().invoke(cli, ["--config", path, "check"]).output
    assert "club:capitales [club of 3: alpha, beta, gamma]" in out
    assert "info: " in out and "shared by 3 instances: alpha, beta, gamma" in out
    data = json.loads(CliRunner().invoke(cli, ["--config", path, "check", "--format", "json"]).output)
    assert data["overrides"] == [{**data["overrides"][0], "id": "club:capitales",
                                  "members": ["alpha", "beta", "gamma"], "club": "capitales"}]
    out = CliRunner().invoke(cli, ["--config", path, "explain", "--deviations", "beta"]).output
    assert "[override club:capitales]" in out and "3 members, alpha, beta, gamma" in out
    out = CliRunner().invoke(cli, ["--config", path, "costs", "--instance", "beta", "--format", "html"]).output
    assert "club : alpha, beta, gamma" in out and "540,00 €" in out and 'lang="fr"' in out
