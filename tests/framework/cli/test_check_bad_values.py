"""Every bad value issue 9 lists is a `raccord check` error at its line, never a traceback.

Each case edits the example territory once and runs the real command line, as an
admin would after a typo.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from framework.cli import main
from tests.conftest import ROOT

EXAMPLE = (ROOT / "instances.toml").read_text(encoding="utf-8")
RUNTIME_ANCHOR = "[profiles.adresse]\n"


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "data").mkdir(exist_ok=True)
    for data in (ROOT / "data").iterdir():  # the files settings name
        if data.is_file():
            (tmp_path / "data" / data.name).write_bytes(data.read_bytes())
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "check"])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in out + err, out + err
    return int(exit_info.value.code or 0), out + err


def edit(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("error:")]


def assert_one_error_at(out: str, text: str, written: str, *fragments: str) -> None:
    [error] = errors(out)
    assert re.search(rf"instances\.toml:{line_of(text, written)}: ", error), (error, line_of(text, written))
    for fragment in fragments:
        assert fragment in error, (fragment, error)


@pytest.mark.parametrize("written", [
    "journal_retention_days = -1", "lease_seconds = -5", "max_attempts = 0", "poll_seconds = 0",
    "workers = -1", "health_check_interval = 0", "backoff_seconds = -3",
])
def test_runtime_values_out_of_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str) -> None:
    text = edit(RUNTIME_ANCHOR, f"[runtime]\n{written}\n\n{RUNTIME_ANCHOR}")
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, written, f"runtime.{written.split()[0]}", "minimum")


@pytest.mark.parametrize(("written", "fragment"), [
    ("max_body_bytes = 0", "minimum"),
    ('public_url = "ftp://raccord.example"', "http(s) URL"),
    ("signature_window_seconds = 100000", "maximum"),
])
def test_gateway_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, fragment: str) -> None:
    text = edit(RUNTIME_ANCHOR, f"[gateway]\n{written}\n\n{RUNTIME_ANCHOR}")
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, written, fragment)


def test_a_job_enabled_as_a_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without a schedule: "no" used to pass (only checked next to a schedule) and stay scheduled.
    text = edit(RUNTIME_ANCHOR, f'{RUNTIME_ANCHOR}jobs = {{ sync_streets = {{ enabled = "no" }} }}\n')
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, 'enabled = "no"', "expected a boolean")


def test_review_by_as_a_datetime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit("review_by = 2027-06-30", "review_by = 2027-12-31T10:00:00")
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, "review_by = 2027-12-31T10:00:00", "not a date", "2027-06-30")


@pytest.mark.parametrize("command", ["list", "costs"])
def test_review_by_as_a_datetime_other_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                command: str) -> None:
    config = tmp_path / "instances.toml"
    config.write_text(edit("review_by = 2027-06-30", "review_by = 2027-12-31T10:00:00"), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--config", str(config), command])
    out, err = capsys.readouterr()
    assert "internal error" not in out + err and "Traceback" not in out + err
    assert "not a date" in out + err


def test_a_misspelt_connector_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit('connector = "payfip"', 'connector = "payfp"')
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, 'connector = "payfp"', "unknown connector 'payfp'", "did you mean 'payfip'")


def test_a_missing_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit('path = "data/metz_metropole_communes.csv"', 'path = "data/communes.csv"')
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, 'path = "data/communes.csv"', "'data/communes.csv' does not exist")
    assert str(tmp_path) not in errors(out)[0].split(": ", 2)[2]  # the file as written, not resolved


def test_a_csv_id_column_the_file_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit('id_column = "insee"', 'id_column = "code_insee"')
    code, out = check(tmp_path, text, capsys)
    assert code == 1
    assert_one_error_at(out, text, 'id_column = "code_insee"', "no column 'code_insee'", "insee", "name")


def test_unresolvable_secrets_are_warnings_naming_who_needs_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RACCORD_METZ_WCS_SECRET", raising=False)
    text = edit('apikey = { env = "RACCORD_METROPOLE_PORTAIL_KEY" }', 'apikey = { file = "secrets/portail" }')
    code, out = check(tmp_path, text, capsys)
    assert code == 0, out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    portail = [w for w in warnings if "metropole.portail" in w]
    assert len(portail) == 1 and "'secrets/portail'" in portail[0], warnings
    assert re.search(rf"instances\.toml:{line_of(text, 'secrets/portail')}: ", portail[0])
    assert any("metz.wcs" in w and "RACCORD_METZ_WCS_SECRET" in w for w in warnings), warnings
    assert str(tmp_path) not in out.replace(f"{tmp_path}/instances.toml", "")
