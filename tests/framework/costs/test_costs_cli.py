"""``raccord costs`` from the command line: formats, --what-if, --topology, --today."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import framework.loading
from framework.cli import cli
from framework.plugins import make_plugin_manager
from tests.framework.costs import toy
from tests.framework.costs.territory import TOML


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "instances.toml"
    path.write_text(TOML.format(split="population", floor=500), encoding="utf-8")
    monkeypatch.setattr(framework.loading, "make_plugin_manager",
                        lambda: make_plugin_manager(plugins=[toy], entry_points=False))
    return path


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), "costs", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_has_the_hand_computed_figures(config: Path) -> None:
    data = json.loads(run(config, "--format", "json", "--today", "2026-07-01"))
    assert data["total"] == {"first_year_cents": 1_500_000, "recurring_cents": 500_000}
    ville = next(i for i in data["instances"] if i["name"] == "ville")
    assert ville["total"] == {"first_year_cents": 666_667, "recurring_cents": 200_000}
    [override] = data["overrides"]
    assert (override["id"], override["owner"], override["review_overdue"]) == ("ville/paiement", "ville DSI", True)
    assert override["settings"] == ["categories"]


def test_csv_rows_add_up(config: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run(config, "--format", "csv"))))
    *instances, total = rows
    assert sum(int(r["total_first_cents"]) for r in instances) == int(total["total_first_cents"]) == 1_500_000
    assert sum(int(r["total_recurring_cents"]) for r in instances) == 500_000


def test_what_if_and_topology_in_the_table(config: Path) -> None:
    out = run(config, "--what-if", "harmonise=ville", "--topology", "hybrid", "--width", "200")
    assert "What if ville harmonised (removing ville/paiement)" in out
    assert "1\u202f500,00 €" in out  # the saving, first year
    assert "13\u202f500,00 €" in out  # the territory harmonised
    for model, total in (("single", "12\u202f000,00 €"), ("per-commune", "21\u202f000,00 €")):
        line = next(x for x in out.splitlines() if f" {model} " in x)
        assert total in line


def test_topology_single_charges_one_platform(config: Path) -> None:
    data = json.loads(run(config, "--format", "json", "--topology", "single"))
    assert data["topology"] == "single"
    assert [i["name"] for i in data["instances"] if i["own_deployment"]] == ["metro"]
    assert data["total"]["first_year_cents"] == 1_200_000


def test_html_is_self_contained_and_escaped(config: Path) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace(
        'name = "Petit territoire"', 'name = "<script>alert(1)</script>"').replace(
        'reason = "the market\'s own categories"', 'reason = "<b>markets</b> & co"'), encoding="utf-8")
    out = run(config, "--format", "html")
    assert out.startswith("<!doctype html>")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&lt;b&gt;markets&lt;/b&gt; &amp; co" in out
    assert "http" not in out  # no external resource


def test_bad_what_if_and_unknown_instance(config: Path) -> None:
    for value in ("ville", "merge=ville", "harmonise=nowhere"):
        result = CliRunner().invoke(cli, ["--config", str(config), "costs", "--what-if", value])
        assert result.exit_code == 2 and "--what-if" in result.output


def test_invalid_config_exits_1_without_traceback(config: Path) -> None:
    config.write_text("[territory\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "costs"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "raccord check" in result.output
