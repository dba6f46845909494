"""``raccord check``'s override ledger: undeclared deviations, review dates, dead
overrides and broken override code, each reported with its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

import framework.loading
from framework.checks import overrides as ledger
from framework.cli import cli
from framework.config.report import Report
from framework.costs.size import measure
from framework.plugins import make_plugin_manager
from framework.testing import check_text
from tests.framework.checks.conftest import write_override
from tests.framework.costs import toy
from tests.framework.costs.territory import load

HEAD = """
[territory]
name = "T"

[profiles.paiement]
connector = "toy"

[profiles.paiement.settings]
limit = 20

[instances.metro]
kind = "metropole"
profiles = ["paiement"]

[instances.testville]
profiles = ["paiement"]
"""

GOOD = '''\
from framework import endpoint, hookimpl


def search(self, call):
    return {"who": "testville"}


@endpoint(permission="open", description="Markets of the commune.")
def markets(self, call):
    return ["halle"]


@hookimpl
def raccord_override(override):
    override.replace_endpoint("search", search)
    override.add_endpoint(markets)
'''


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "today", lambda: dt.date(2026, 1, 15))


def findings(report: Report, level: str) -> list[tuple[int | None, str]]:
    return [(f.line, f.message) for f in report.findings if f.level == level]


def line_of(text: str, needle: str, *, last: bool = False) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[-1] if last else lines[0]


def check(text: str, tmp_path: Path) -> Report:
    return check_text(text, tmp_path, plugins=[toy], entry_points=False)


def test_undeclared_deviation_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = HEAD + "\n[instances.testville.settings.paiement]\ncategories = [\"marche\"]\n"
    report = check(text, tmp_path)
    [(line, message)] = findings(report, "error")
    assert line == line_of(text, "categories = ")
    assert "shared setting" in message and "override" in message
    # a per-instance setting is free: no error
    assert check(HEAD + "\n[instances.testville.settings.paiement]\nurl = \"https://v.example\"\n",
                 tmp_path).ok


def test_expired_review_is_a_warning_at_review_by(tmp_path: Path) -> None:
    text = HEAD + """
[instances.testville.settings.paiement]
limit = 50

[instances.testville.overrides.paiement]
reason = "bigger pages"
review_by = 2025-12-31
"""
    report = check(text, tmp_path)
    assert report.ok
    assert findings(report, "warning") == [
        (line_of(text, "review_by"), "override testville/paiement was due for review on 2025-12-31")]


def test_review_date_still_ahead_is_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "today", lambda: dt.date(2025, 12, 31))
    text = HEAD + """
[instances.testville.settings.paiement]
limit = 50

[instances.testville.overrides.paiement]
reason = "bigger pages"
review_by = 2025-12-31
"""
    assert check(text, tmp_path).findings == []


@pytest.mark.parametrize(("setting", "equals"), [("limit = 20", "the profile"),
                                                ("categories = [\"voirie\", \"eclairage\"]",
                                                 "the connector default")])
def test_value_equal_to_the_common_one_is_a_dead_override(tmp_path: Path, setting: str, equals: str) -> None:
    text = HEAD + f"""
[instances.testville.settings.paiement]
{setting}

[instances.testville.overrides.paiement]
reason = "was different once"
"""
    report = check(text, tmp_path)
    [(line, message)] = findings(report, "warning")
    assert line == line_of(text, setting, last=True)
    assert message.startswith("dead override testville/paiement") and equals in message


def test_declaration_without_code_or_settings_is_dead(tmp_path: Path) -> None:
    text = HEAD + "\n[instances.testville.overrides.paiement]\nreason = \"forgotten\"\n"
    [(line, message)] = findings(check(text, tmp_path), "warning")
    assert line == line_of(text, "[instances.testville.overrides.paiement]")
    assert "neither code, shared settings nor a loosened access" in message


def test_valid_override_code_passes_and_is_measured(tmp_path: Path, contrib_dir: Path) -> None:
    write_override(contrib_dir, "contrib.testville.paiement", GOOD)
    text = HEAD + """
[instances.testville.overrides.paiement]
plugin = "contrib.testville.paiement"
reason = "market search"
cost = { setup_days = 1, yearly_days = 0.5 }
"""
    assert check(text, tmp_path).findings == []
    tests_root = tmp_path / "tests_contrib"
    (tests_root / "testville").mkdir(parents=True)
    (tests_root / "testville" / "test_paiement.py").write_text(
        "# a comment\n\ndef test_x():\n    assert True\n", encoding="utf-8")
    (tests_root / "testville" / "test_other.py").write_text("def test_y():\n    pass\n", encoding="utf-8")
    territory = load(tmp_path, text)
    size = measure(territory.binding("testville", "paiement"), tests_root)
    # GOOD: 10 non-blank lines; test_paiement.py: 2 (comment and blank not counted); test_other ignored
    assert (size.code_lines, size.test_lines) == (10, 2)
    assert size.replaced == ("endpoint search",) and size.added == ("endpoint markets",)


@pytest.mark.parametrize(("body", "expected"), [
    ("import not_a_module_anywhere\n", "failed to import: ModuleNotFoundError"),
    ("def nothing():\n    pass\n", "implements no raccord_override hook"),
    ("from framework import hookimpl\n\n@hookimpl\ndef raccord_override(override):\n"
     "    override.replace_endpoint('gone', lambda self, call: None)\n",
     "dead override: override testville/paiement (contrib.testville.paiement): replaces endpoint 'gone'"),
    ("from framework import hookimpl\n\n@hookimpl\ndef raccord_override(override):\n"
     "    override.replace_job('vanished', lambda self, run: None)\n", "dead override: "),
    ("from framework import hookimpl\n\n@hookimpl\ndef raccord_override(override):\n"
     "    override.set_extension('nope', lambda self, text: text)\n", "dead override: "),
    # The hook itself fails (a bug in the override, a wrong keyword): an error, not a traceback.
    ("from framework import hookimpl\n\n@hookimpl\ndef raccord_override(override):\n"
     "    raise RuntimeError('oops')\n", "raccord_override failed: RuntimeError: oops"),
    ("from framework import hookimpl\n\n@hookimpl\ndef raccord_override(override):\n"
     "    override.replace_endpoint('search', lambda self, call: None, colour='red')\n",
     "unexpected keyword argument 'colour'"),
])
def test_broken_override_code_is_an_error_at_plugin(tmp_path: Path, contrib_dir: Path, body: str,
                                                    expected: str) -> None:
    write_override(contrib_dir, "contrib.testville.paiement", body)
    text = HEAD + """
[instances.testville.overrides.paiement]
plugin = "contrib.testville.paiement"
reason = "market search"
"""
    [(line, message)] = findings(check(text, tmp_path), "error")
    assert line == line_of(text, "plugin = ")
    assert expected in message


@pytest.fixture
def toy_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line with the toy connector (and no entry points)."""
    monkeypatch.setattr(framework.loading, "make_plugin_manager",
                        lambda: make_plugin_manager(plugins=[toy], entry_points=False))


BAD_DECLARATIONS = [
    # The example: it passed `check`, then failed at its first call.
    ('@endpoint(permission="can_access", description="", pattern="(")\ndef markets(self, call):\n    return []\n',
     "add_endpoint(markets)", ["endpoint 'markets': needs a description", "pattern '(' does not compile"]),
    ('@endpoint(permission="can_access", description="d", params=[Param("n", int, "n", "ten")])\n'
     'def markets(self, call):\n    return []\n',
     "add_endpoint(markets)", ["parameter 'n': its example 'ten' is refused: parameter 'n': expected an integer"]),
    ('@endpoint(permission="can_access", description="d", params=[Param("n", int, "n", 99, min=1, max=50)])\n'
     'def markets(self, call):\n    return []\n',
     "add_endpoint(markets)", ["its example 99 is refused", "out of range"]),
    ('@endpoint(permission="can_access", description="d", methods=("POST",),\n'
     '          body_schema={"type": "object", "required": ["a"]}, body_example={"b": 1})\n'
     'def markets(self, call):\n    return []\n',
     "add_endpoint(markets)", ["body_example does not match body_schema", "'a' is a required property"]),
    ('@endpoint(permission="can_access", description="d", methods=("POST",), body_schema={"type": "nothing"})\n'
     'def markets(self, call):\n    return []\n',
     "add_endpoint(markets)", ["body_schema is not a valid JSON schema"]),
    ("def markets(self, call):\n    return []\n",
     "replace_endpoint('search', markets, description='')", ["endpoint 'search': needs a description"]),
    ("def markets(self, call):\n    return []\n",
     "replace_endpoint('search', markets, pattern='[')", ["pattern '[' does not compile"]),
    ('@job(schedule="every 0m", description="d")\ndef markets(self, run):\n    pass\n',
     "add_job(markets)", ["job 'markets'"]),
]


@pytest.mark.parametrize(("code", "call", "expected"), BAD_DECLARATIONS)
def test_an_overrides_declarations_go_through_the_one_verifier(tmp_path: Path, contrib_dir: Path, code: str,
                                                               call: str, expected: list[str],
                                                               toy_cli: None) -> None:
    write_override(contrib_dir, "contrib.testville.paiement",
                   f"from framework import Param, endpoint, hookimpl, job\n\n{code}\n\n@hookimpl\n"
                   f"def raccord_override(override):\n    override.{call}\n")
    text = HEAD + OVERRIDE_DECL
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert f"instances.toml:{line_of(text, 'plugin = ')}: instances.testville.overrides.paiement.plugin:" in error
    for fragment in expected:
        assert fragment in error, (fragment, error)
    assert "Traceback" not in result.output


OVERRIDE_DECL = """
[instances.testville.overrides.paiement]
plugin = "contrib.testville.paiement"
reason = "market search"
"""


def test_a_misspelt_hook_in_an_override_is_an_error_naming_it(tmp_path: Path, contrib_dir: Path) -> None:
    write_override(contrib_dir, "contrib.testville.paiement", GOOD + "\n\n@hookimpl\ndef raccord_overide(override):\n"
                   "    pass\n")
    [(line, message)] = findings(check(HEAD + OVERRIDE_DECL, tmp_path), "error")
    assert line == line_of(HEAD + OVERRIDE_DECL, "plugin = ")
    assert "raccord_overide" in message and "contrib.testville.paiement" in message


def test_the_ledger_lists_what_an_override_changes_field_by_field(tmp_path: Path, contrib_dir: Path,
                                                                 toy_cli: None) -> None:
    write_override(contrib_dir, "contrib.testville.paiement", """\
from framework import hookimpl


def search(self, call):
    return {"who": "testville"}


@hookimpl
def raccord_override(override):
    override.replace_endpoint("search", search, permission="can_access", description="Testville's search.")
""")
    config = tmp_path / "instances.toml"
    config.write_text(HEAD + OVERRIDE_DECL, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ("replaces endpoint search: permission 'open' → 'can_access'; description 'Search.' → "
            "\"Testville's search.\"") in result.output


def test_an_override_is_applied_once_per_binding(tmp_path: Path, contrib_dir: Path) -> None:
    write_override(contrib_dir, "contrib.testville.paiement", GOOD.replace(
        "def raccord_override(override):\n", "def raccord_override(override):\n    CALLS.append(override.instance)\n")
        + "\nCALLS: list[str] = []\n")
    from framework.testing import make_raccord

    r = make_raccord(HEAD + OVERRIDE_DECL, tmp_path, plugins=[toy], entry_points=False)
    try:
        import contrib.testville.paiement as module  # type: ignore[import-not-found]

        for _ in range(3):
            r.invoke("testville", "paiement", "markets")
        from framework.checks.deviations import deviations

        deviations(r.territory, "testville")
        assert module.CALLS == ["testville"]
    finally:
        r.close()


def test_code_outside_the_instance_folder_is_flagged(tmp_path: Path, contrib_dir: Path) -> None:
    write_override(contrib_dir, "contrib.testother.paiement", GOOD)
    text = HEAD + """
[instances.testville.overrides.paiement]
plugin = "contrib.testother.paiement"
reason = "borrowed"
"""
    [(_, message)] = findings(check(text, tmp_path), "warning")
    assert "not under contrib/testville/" in message


def test_the_ledger_is_a_builtin_plugin_that_can_be_blocked() -> None:
    assert make_plugin_manager(entry_points=False).get_plugin("framework.checks.overrides") is ledger
    pm = make_plugin_manager(entry_points=False, block=["framework.checks.overrides"])
    assert pm.get_plugin("framework.checks.overrides") is None


def test_raccord_check_reports_all_three_with_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An undeclared deviation, an expired review date and a dead override, in one run."""
    text = HEAD + """
[instances.metro.settings.paiement]
limit = 30

[instances.testville.settings.paiement]
limit = 20

[instances.testville.overrides.paiement]
reason = "was different once"
review_by = 2025-06-30
"""
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setattr(framework.loading, "make_plugin_manager",
                        lambda: make_plugin_manager(plugins=[toy], entry_points=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"error: {config}:{line_of(text, 'limit = 30')}: instances.metro.settings.paiement.limit:" in out
    assert f"{config}:{line_of(text, 'review_by')}:" in out and "due for review on 2025-06-30" in out
    assert f"warning: {config}:{line_of(text, 'limit = 20', last=True)}:" in out and "dead override" in out
    assert "1 error(s), 2 warning(s)" in out


def test_deviations_show_the_diff_and_the_code_location(tmp_path: Path, contrib_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_override(contrib_dir, "contrib.testville.paiement", GOOD)
    text = HEAD + """
[instances.testville.settings.paiement]
limit = 50
url = "https://ville.example"

[instances.testville.overrides.paiement]
plugin = "contrib.testville.paiement"
reason = "market search"
owner = "DSI"
"""
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setattr(framework.loading, "make_plugin_manager",
                        lambda: make_plugin_manager(plugins=[toy], entry_points=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "explain", "--deviations", "testville"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"limit: 20 [profile ({config}:{line_of(text, 'limit = 20')})] → 50" in out
    assert "[shared setting: override]" in out
    assert "url: 'https://example.invalid' [connector default] → 'https://ville.example'" in out
    assert "[override testville/paiement] market search (owner DSI" in out
    assert f"replaces endpoint search — contrib.testville.paiement.search ({path}:4)" in out
    assert ("adds endpoint markets: permission 'open'; description 'Markets of the commune.'; methods ('GET',) — "
            f"contrib.testville.paiement.markets ({path}:") in out
    same = CliRunner().invoke(cli, ["--config", str(config), "explain", "--deviations", "metro"])
    assert "paiement (toy): follows the common project" in same.output
