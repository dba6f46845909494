"""`raccord dispatch stats` on the example territory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework.app import Raccord
from framework.cli import cli
from tests.conftest import ROOT

EXAMPLE = str(ROOT / "instances.toml")


def test_dispatch_stats_shows_automatic_and_triaged_per_category_and_commune(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    monkeypatch.setenv("RACCORD_DATABASE_URL", url)
    app = Raccord.open(EXAMPLE, database_url=url)
    try:
        for body in ({"category": "voirie", "insee": "57463"}, {"category": "voirie", "insee": "57463"},
                     {"category": "voirie", "point": {"lon": 2.35, "lat": 48.86}},
                     {"category": "piscine", "insee": "57751"}):
            app.invoke("metropole", "aiguillage", "route", method="POST", body=body)
    finally:
        app.close()
    result = CliRunner().invoke(cli, ["--config", EXAMPLE, "dispatch", "stats", "--format", "json", "--since",
                                      "2000-01-01"])
    assert result.exit_code == 0, result.output
    rows = {(r["category"], r["commune"]): r for r in json.loads(result.output)["rows"]}
    assert (rows[("voirie", "57463")]["automatic"], rows[("voirie", "57463")]["triage"]) == (2, 0)
    assert rows[("voirie", None)]["triage_reasons"] == {"outside_territory": 1}
    assert rows[("piscine", "57751")]["triage_reasons"] == {"unknown_category": 1}
    table = CliRunner().invoke(cli, ["--config", EXAMPLE, "dispatch", "stats"])
    assert table.exit_code == 0, table.output
    assert "57751 Woippy" in table.output
    assert "4 request(s), 2 routed automatically, 2 through triage" in table.output
    before = CliRunner().invoke(cli, ["--config", EXAMPLE, "dispatch", "stats", "--format", "json",
                                      "--until", "2000-01-01"])
    assert json.loads(before.output)["rows"] == []
