"""`raccord check`, `list` and `explain` as an admin runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.cli import main
from tests.conftest import ROOT

EXAMPLE = ROOT / "instances.toml"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return int(code or 0), out, err


def test_check_passes_on_the_example_and_lists_its_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--config", str(EXAMPLE), "check"], capsys)
    assert code == 0, out + err
    assert "OK — 48 instances" in out
    assert "[override] woippy/adresse" in out


def test_check_reports_every_mistake_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    mistakes = [
        ('split = "population"', 'split = "popularity"'),           # unknown split
        ('kind = "metropole"', 'kind = "metropolis"'),             # unknown kind
        ('hosted_by = "metropole"', 'hosted_by = "metropolis"'),   # unknown hosted_by
        ('id_column = "insee"', 'id_colum = "insee"'),             # unknown setting
        ('insee = ["57017"]', 'insee = ["57463"]'),                # INSEE claimed twice
        ('day_rate_eur = 800', 'day_rate_eur = "800"'),            # wrong type
    ]
    for old, new in mistakes:
        assert old in text, old
        text = text.replace(old, new, 1)
    text = text.replace('boundaries = "data/', f'boundaries = "{EXAMPLE.parent}/data/', 1)  # copied away
    broken = tmp_path / "instances.toml"
    broken.write_text(text, encoding="utf-8")
    code, out, _ = run(["--config", str(broken), "check"], capsys)
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 6, out
    for fragment in ("popularity", "metropolis'", "'metropolis'", "id_colum", "57463", "day_rate_eur"):
        assert any(fragment in e for e in errors), (fragment, out)
    for error in errors:
        assert f"{broken}:" in error and error.split(f"{broken}:")[1].split(":")[0].isdigit()


def test_explain_shows_each_layer_and_what_it_shadows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--config", str(EXAMPLE), "explain", "woippy", "adresse"], capsys)
    assert code == 0, err
    assert "connector default" in out
    assert "← profile (" in out and "instances.toml:" in out
    assert "← instance (" in out
    assert "shadows" in out


def test_list_shows_the_topology(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table wraps free text at the terminal width
    code, out, _ = run(["--config", str(EXAMPLE), "list"], capsys)
    assert code == 0
    assert "hosted by communes" in out and "own deployment" in out
    assert "adresse [override]" in out


def test_unknown_instance_and_missing_config_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--config", str(EXAMPLE), "explain", "nowhere"], capsys)
    assert code == 1 and "unknown instance 'nowhere'" in err
    code, out, _ = run(["--config", str(tmp_path / "missing.toml"), "check"], capsys)
    assert code == 1 and "cannot read the configuration" in out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_check_never_shows_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, out, err = run(["--config", str(path), "check"], capsys)
    assert code in (0, 1)
    assert "Traceback" not in out + err and "internal error" not in err


def test_the_installed_command_runs(tmp_path: Path) -> None:
    exe = shutil.which("raccord", path=str(Path(sys.executable).parent)) or "raccord"
    env = {**os.environ, "RACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done = subprocess.run([exe, "--config", str(EXAMPLE), "check", "-q"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_file_error_names_the_file_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    code, _, err = run(["--config", str(EXAMPLE), "docs", "--out", str(blocker / "docs")], capsys)
    assert code == 1 and str(blocker) in err and "internal error" not in err
