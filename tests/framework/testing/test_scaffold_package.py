"""`raccord new-connector NAME --package DIR`: a standalone distribution whose tests and
strict type check pass at once, installed the way an author installs it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

import framework
from framework.cli import cli

pytestmark = pytest.mark.slow


def side_environment(tmp_path: Path) -> Path:
    """A virtual environment that sees this one's packages (raccord and its
    dependencies) through a .pth file, so installing into it touches nothing here and
    needs no network."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "raccord-under-test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def install(python: Path, package: Path) -> None:
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                             "--no-build-isolation", "--no-index", str(package)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def run_in(package: Path, python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # An editable raccord is invisible to mypy's module finder: MYPYPATH shows it.
    env = {**os.environ, "MYPYPATH": str(Path(framework.__file__).resolve().parent.parent)}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([str(python), "-m", *args], cwd=package, env=env, capture_output=True, text=True,
                          check=False)


def test_the_scaffolded_package_passes_its_tests_and_mypy_strict(tmp_path: Path) -> None:
    package = tmp_path / "raccord-gru"
    result = CliRunner().invoke(cli, ["new-connector", "gru_demo", "--title", "GRU demo", "--package", str(package)])
    assert result.exit_code == 0, result.output
    files = {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", "src/raccord_gru_demo/__init__.py",
                     "src/raccord_gru_demo/connector.py", "src/raccord_gru_demo/py.typed",
                     "tests/test_gru_demo.py"}
    assert 'gru_demo = "raccord_gru_demo.connector:GruDemo"' in (package / "pyproject.toml").read_text()
    python = side_environment(tmp_path)
    install(python, package)
    tests = run_in(package, python, "pytest", "-q", "-p", "no:cacheprovider")
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "6 passed" in tests.stdout
    types = run_in(package, python, "mypy", "--strict", "src", "tests")
    assert types.returncode == 0, types.stdout[-4000:]
    lint = run_in(package, python, "ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout[-4000:]


def test_the_package_scaffold_refuses_a_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["new-connector", "gru", "--package", str(tmp_path / "taken")])
    assert result.exit_code == 1 and "is not empty" in result.output
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
