"""The competence matrix and its exceptions as `raccord check`, `explain --deviations`
and `raccord costs` show them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework.cli import cli
from framework.testing import check_text
from tests.conftest import ROOT

EXAMPLE = str(ROOT / "instances.toml")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", EXAMPLE, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_metz_exception_is_flagged_by_check() -> None:
    out = run("check")
    assert "[override] metz/demandes: settings competences — La Ville de Metz garde son service" in out


def test_metz_exception_is_a_deviation_of_metz_only() -> None:
    metz = run("explain", "--deviations", "metz")
    assert "[override metz/demandes]" in metz
    assert "competences: {} [connector default] → {'proprete': 'commune'}" in metz
    assert "[shared setting: override]" in metz
    assert "override" not in run("explain", "--deviations", "marly", "demandes")


def test_metz_exception_is_costed_to_metz() -> None:
    data = json.loads(run("costs", "--format", "json", "--today", "2026-01-01"))
    override = next(o for o in data["overrides"] if o["id"] == "metz/demandes")
    assert override["settings"] == ["competences"] and override["plugin"] is None
    assert override["cost"] == {"first_year_cents": 28000, "recurring_cents": 8000}  # 0.35 d × 800 €
    metz = next(i for i in data["instances"] if i["name"] == "metz")
    assert metz["overrides"] == {"first_year_cents": 28000, "recurring_cents": 8000}


BASE = """
[territory]
name = "T"
triage = "metro"

[profiles.adresse]
connector = "base_adresse"

[profiles.aiguillage]
connector = "dispatch"

[profiles.aiguillage.settings]
geocoder = "{geocoder}"
boundaries = "{boundaries}"
min_score = {min_score}
competences = {{ voirie = "{voirie}", etat_civil = "commune" }}
first_recipients = {{ "*" = "{first}" }}

[profiles.demandes]
connector = "dispatch_inbox"

[instances.metro]
name = "Métropole"
kind = "metropole"
profiles = ["adresse", "aiguillage", "demandes"]

[instances.ville]
name = "Ville"
insee = ["57463"]
profiles = ["demandes"]

[instances.ville.settings.demandes]
competences = {{ {exception} = "metro" }}

[instances.ville.overrides.demandes]
reason = "test"

[instances.hameau]
name = "Hameau sans boîte"
insee = ["57480"]
"""
GOOD = {"geocoder": "adresse", "boundaries": "", "min_score": 0.6, "voirie": "metro", "first": "metro",
        "exception": "voirie"}


def messages(tmp_path: Path, **changes: object) -> list[str]:
    report = check_text(BASE.format(**(GOOD | changes)), tmp_path)
    return [f"{f.level}: {f.dotted}: {f.message} — {f.hint}" for f in report.findings]


def test_the_good_configuration_only_warns_about_the_commune_without_inbox(tmp_path: Path) -> None:
    found = messages(tmp_path)
    assert [m for m in found if m.startswith("error")] == []
    assert any("1 commune instance(s) have no inbox (hameau)" in m for m in found)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"voirie": "metropole"}, "error: profiles.aiguillage.settings.competences.voirie: 'voirie' goes to "
                              "'metropole', which is not an instance nor 'commune' / 'triage' — did you mean 'metro'?"),
    ({"voirie": "hameau"}, "'voirie' goes to 'hameau', which has no inbox"),
    ({"first": "ville2"}, "error: profiles.aiguillage.settings.first_recipients.*: '*' goes to 'ville2', which is "
                          "not an instance — did you mean 'ville'?"),
    ({"geocoder": "adrese"}, "geocoder = 'adrese': instance 'metro' has no base_adresse binding of that profile — "
                             "did you mean 'adresse'?"),
    ({"min_score": 1.5}, "min_score = 1.5: geocoder scores go from 0 to 1"),
    ({"boundaries": "absent.geojson"}, "boundaries file absent.geojson cannot be read"),
    ({"exception": "voiri"}, "warning: instances.ville.settings.demandes.competences: exception for category "
                             "'voiri', which the competence matrix does not have — did you mean 'voirie'?"),
])
def test_check_names_the_culprit_and_the_fix(tmp_path: Path, changes: dict[str, object], expected: str) -> None:
    found = messages(tmp_path, **changes)
    assert any(expected in m for m in found), found


def test_communes_missing_from_the_boundaries_are_a_warning(tmp_path: Path) -> None:
    geojson = str(ROOT / "data" / "metz_metropole_communes.geojson")
    assert not any("no boundary" in m for m in messages(tmp_path, boundaries=geojson))
    text = BASE.format(**(GOOD | {"boundaries": geojson})).replace('insee = ["57480"]', 'insee = ["75056"]')
    found = [f.message for f in check_text(text, tmp_path).findings]
    assert "no boundary for commune(s) 75056: their points go to triage" in found


def test_a_fifo_or_a_device_as_boundaries_is_an_error_never_a_hang(tmp_path: Path) -> None:
    import os
    import threading

    os.mkfifo(tmp_path / "fifo.geojson")
    found: list[list[str]] = []
    worker = threading.Thread(target=lambda: found.append(messages(tmp_path, boundaries="fifo.geojson")),
                              daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "check hangs on a FIFO"
    assert any("boundaries file fifo.geojson is a named pipe (FIFO), not a regular file" in m for m in found[0])
    assert any("is a character device" in m for m in messages(tmp_path, boundaries="/dev/zero"))
