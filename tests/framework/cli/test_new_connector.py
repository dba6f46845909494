"""`raccord new-connector` scaffolds a connector that loads, validates and answers."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

import connectors
from framework.cli import cli
from framework.testing import call, make_raccord


def test_scaffold_is_a_working_connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["new-connector", "gru_demo", "--title", "GRU", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "connectors" / "gru_demo"
    assert {p.name for p in package.iterdir()} == {"__init__.py", "connector.py", "README.md"}
    assert 'gru_demo = "connectors.gru_demo"' in result.output
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", str(tmp_path)], capture_output=True, text=True,
                          check=False)
    assert lint.returncode == 0, lint.stdout

    monkeypatch.setattr(connectors, "__path__", [*connectors.__path__, str(tmp_path / "connectors")])
    plugin = importlib.import_module("connectors.gru_demo")
    monkeypatch.setenv("GRU_DEMO_TOKEN", "t0ken")
    territory = (tmp_path / "tests" / "connectors" / "test_gru_demo.py").read_text().split('"""')[3]
    with responses.RequestsMock() as mock:
        mock.get("https://server.example/ping", json={"ok": True})
        r = make_raccord(territory, tmp_path, plugins=[plugin], entry_points=False)
        try:
            assert call(r, "metz/p/ping", q="x") == {"ok": True}
        finally:
            r.close()
    for name in [m for m in sys.modules if m.startswith("connectors.gru_demo")]:
        monkeypatch.delitem(sys.modules, name)


def test_scaffold_refuses_bad_names_and_existing_packages(tmp_path: Path) -> None:
    runner = CliRunner()
    assert "lower-case Python identifier" in runner.invoke(cli, ["new-connector", "Bad-Name"]).output
    (tmp_path / "connectors" / "taken").mkdir(parents=True)
    result = runner.invoke(cli, ["new-connector", "taken", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output
