"""``raccord costs`` and the ledger on the example territory (instances.toml)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework.app import check_config
from framework.checks import overrides as ledger
from framework.cli import cli

EXAMPLE = Path(__file__).resolve().parents[3] / "instances.toml"


def test_example_costs_add_up_and_list_its_overrides() -> None:
    result = CliRunner().invoke(cli, ["--config", str(EXAMPLE), "costs", "--format", "json",
                                      "--topology", "hybrid", "--today", "2026-01-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for period in ("first_year_cents", "recurring_cents"):
        assert sum(i["total"][period] for i in data["instances"]) == data["total"][period]
    assert data["overrides"], "the example declares at least one override"
    for override in data["overrides"]:
        assert override["reason"] and override["size"]["problem"] is None
        # A settings-only override (Metz's dispatch exception) has no code to measure.
        assert override["size"]["code_lines"] > 0 or (override["plugin"] is None and override["settings"])
    models = {t["topology"]: t for t in data["topologies"]}
    assert (models["single"]["deployments"] < models["hybrid"]["deployments"]
            < models["per-commune"]["deployments"])


def test_example_ledger_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "today", lambda: dt.date(2026, 1, 1))
    territory, report, _ = check_config(str(EXAMPLE))
    assert territory is not None and report.ok, [str(f) for f in report.errors]
    assert not [f for f in report.findings if "override" in f.message], [str(f) for f in report.findings]
