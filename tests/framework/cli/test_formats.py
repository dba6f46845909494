"""Every listing command: ``--format json`` parses and is stable; tables at 80 columns
never cut an identifier; ``raccord --version``."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from framework import availability, journal
from framework.cli import cli
from framework.runtime import queue
from framework.storage import open_database

LONG = "saint-privat-la-montagne"  # the longest name of the example territory
TERRITORY = f'''\
[territory]
name = "Territoire de test"

[costs]
day_rate_eur = 800

[profiles.referentiel-communes]
connector = "csv_datasource"
cost = {{ setup_days = 1, yearly_days = 0.5 }}
[profiles.referentiel-communes.settings]
path = "ref.csv"

[instances.metz]
insee = ["57463"]
profiles = ["referentiel-communes"]

[instances.{LONG}]
insee = ["57616"]
hosted_by = "metz"
profiles = ["referentiel-communes"]
'''
PROFILE = "referentiel-communes"
IDENTIFIERS = ("metz", LONG, PROFILE, f"{LONG}/{PROFILE}")


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "ref.csv").write_text("id,text\n1,Metz\n", encoding="utf-8")
    path = tmp_path / "instances.toml"
    path.write_text(TERRITORY, encoding="utf-8")
    monkeypatch.setenv("RACCORD_DATABASE_URL", database_url)
    db = open_database(database_url)
    since = dt.datetime(2026, 11, 28, 9, 15, 3, tzinfo=dt.UTC)
    availability.write(db, LONG, PROFILE, status="down", since=since,
                       reason="gru.example did not answer within 30 s, again and again and again", failures=5)
    availability.write(db, "metz", PROFILE, status="up", since=since)
    journal.record(db, direction="out", instance=LONG, profile=PROFILE, method="GET",
                   url="https://gru.example/api?apikey=K3Y&q=rue", status=503,
                   err_class="raccord.upstream_error", error="gru.example answered HTTP 503")
    job = queue.enqueue(db, LONG, PROFILE, "push_a_very_long_job_name", {"n": 1})
    db.dispose()
    monkeypatch.setenv("TEST_JOB_ID", str(job))
    return str(path)


def run(config: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", config, *args])
    return result.exit_code, result.output


def as_json(config: str, *args: str) -> dict[str, Any]:
    code, out = run(config, *args, "--format", "json")
    assert code in (0, 1), out
    data = json.loads(out)
    assert data["format_version"] == 1 and data["command"]
    return data  # type: ignore[no-any-return]


def test_every_listing_command_speaks_json(config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    job_id = int(os.environ["TEST_JOB_ID"])
    data = as_json(config, "list")
    assert [i["name"] for i in data["instances"]] == ["metz", LONG]
    assert data["instances"][1]["hosted_by"] == "metz"
    data = as_json(config, "status")
    by_key = {(b["instance"], b["profile"]): b for b in data["bindings"]}
    assert by_key[(LONG, PROFILE)]["status"] == "down" and by_key[(LONG, PROFILE)]["failures"] == 5
    assert by_key[("metz", PROFILE)]["since"].startswith("2026-11-28T09:15:03")
    assert data["down"] == 1
    data = as_json(config, "jobs", "list")
    assert data["jobs"][0]["id"] == job_id and data["jobs"][0]["binding"] == f"{LONG}/{PROFILE}"
    assert data["queue"] == {"queued": 1}
    data = as_json(config, "jobs", "show", str(job_id))
    assert data["job"]["name"] == "push_a_very_long_job_name" and data["job"]["status"] == "queued"
    data = as_json(config, "logs", LONG)
    assert data["rows"][0]["status"] == 503 and "K3Y" not in json.dumps(data)
    data = as_json(config, "check")
    assert data["ok"] is True and data["counts"] == {"instances": 2, "profiles": 1, "bindings": 2}
    data = as_json(config, "explain", "metz")
    setting = next(s for s in data["bindings"][0]["settings"] if s["name"] == "path")
    assert setting["source"]["layer"] == "profile" and setting["source"]["line"] == 11
    data = as_json(config, "costs")
    assert data["total"]["first_year_cents"] == 2 * 120_000 // 2 + 0  # 1.5 days at 800 €, split


def test_tables_at_80_columns_never_cut_an_identifier(config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("COLUMNS", "80")
    commands = [["list"], ["status"], ["jobs", "list"], ["jobs", "show", os.environ["TEST_JOB_ID"]],
                ["logs", LONG], ["costs"], ["costs", "--topology", "hybrid"]]
    widths: dict[str, int] = {}
    for args in commands:
        code, out = run(config, *args)
        assert code in (0, 1), (args, out)
        assert "…" not in out, (args, out)
        words = set(re.findall(r"[\w/.-]+", out))
        shown = [i for i in IDENTIFIERS if i in out]
        assert shown, (args, out)
        for ident in shown:
            assert ident in words or any(ident in w for w in words), (args, ident)
        # The long name is whole on one line wherever it is written.
        for line in out.splitlines():
            if "saint-privat" in line:
                assert LONG in line, (args, line)
        widths[args[0] + (args[1] if len(args) > 1 else "")] = max(len(line) for line in out.splitlines())
    # Where the names leave room, the tables fit 80 columns (the others grow rather than cut).
    assert widths["status"] <= 80 and widths["costs"] <= 80 and widths["jobsshow"] <= 80, widths


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"raccord \d+\.\d+\.\d+\n", result.output)
