"""`raccord status` and `raccord logs`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework import availability, journal
from framework.cli import cli
from framework.storage import open_database

TERRITORY = '''\
[profiles.ref]
connector = "csv_datasource"
[profiles.ref.settings]
path = "ref.csv"

[profiles.ref2]
connector = "csv_datasource"
[profiles.ref2.settings]
path = "ref.csv"

[instances.metz]
insee = ["57463"]
profiles = ["ref", "ref2"]

[instances.woippy]
insee = ["57751"]
profiles = ["ref"]
'''


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "ref.csv").write_text("id,text\n1,Metz\n", encoding="utf-8")
    path = tmp_path / "instances.toml"
    path.write_text(TERRITORY, encoding="utf-8")
    monkeypatch.setenv("RACCORD_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at the terminal width
    return str(path)


def run(config: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", config, *args])
    return result.exit_code, result.output


def test_status_shows_up_down_since_why_and_unknown(config: str, database_url: str) -> None:
    db = open_database(database_url)
    since = dt.datetime(2026, 11, 28, 9, 15, 3, tzinfo=dt.UTC)
    availability.write(db, "metz", "ref", status="down", since=since,
                       reason="gru.metz.example did not answer within 30 s", failures=5)
    availability.write(db, "woippy", "ref", status="up", since=since)
    db.dispose()
    code, out = run(config, "status")
    assert code == 1  # a binding is down: monitoring scripts see it
    lines = {line.split("│")[1].strip() + "/" + line.split("│")[2].strip(): line
             for line in out.splitlines() if line.count("│") >= 5}
    assert "down" in lines["metz/ref"] and "2026-11-28 09:15:03" in lines["metz/ref"]
    assert "did not answer within 30 s (5 consecutive failure(s))" in lines["metz/ref"]
    assert "up" in lines["woippy/ref"] and "unknown" in lines["metz/ref2"]
    assert "3 binding(s): 1 down" in out

    code, out = run(config, "status", "--instance", "woippy")
    assert code == 0 and "1 binding(s): 0 down" in out


def test_logs_filters_and_never_shows_secrets(config: str, database_url: str) -> None:
    db = open_database(database_url)
    journal.record(db, direction="out", instance="metz", profile="ref", method="GET",
                   url="https://admin:s3cret@gru.metz.example/api?apikey=K3Y&q=rue", status=200,
                   duration_ms=12.5)
    journal.record(db, direction="in", instance="metz", profile="ref2", endpoint="data", status=200,
                   duration_ms=3.0)
    journal.record(db, direction="out", instance="woippy", profile="ref", method="GET",
                   url="https://gru.woippy.example/api", status=503, err_class="raccord.upstream_error",
                   error="gru.woippy.example answered HTTP 503")
    db.dispose()
    code, out = run(config, "logs", "metz")
    assert code == 0, out
    assert "GET https://gru.metz.example/api?apikey=***&q=rue" in out and "12.5" in out
    assert "data" in out and "woippy" not in out and "2 row(s)" in out
    assert "s3cret" not in out and "K3Y" not in out and "admin" not in out

    assert "1 row(s)" in run(config, "logs", "metz", "--direction", "in")[1]
    assert "1 row(s)" in run(config, "logs", "metz", "--profile", "ref")[1]
    assert "1 row(s)" in run(config, "logs", "metz", "--limit", "1")[1]
    code, out = run(config, "logs", "woippy")
    assert "raccord.upstream_error gru.woippy.example answered HTTP 503" in out


def test_logs_of_an_unknown_instance_names_it(config: str) -> None:
    result = CliRunner().invoke(cli, ["--config", config, "logs", "metzz"])
    assert result.exit_code != 0
    assert "unknown instance 'metzz'" in str(result.exception) + result.output
