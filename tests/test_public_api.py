"""The public API is the whole API: shipped connectors and contrib/ import only the
top-level ``framework`` package, and only names it exports; it is typed (py.typed),
so a third-party connector package passes ``mypy --strict`` against it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import framework
from tests.conftest import ROOT


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def test_connectors_and_contrib_import_only_the_public_api() -> None:
    wrong = []
    for folder in ("connectors", "contrib"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, module, names in _imports(path):
                where = f"{path.relative_to(ROOT)}:{line}"
                if module.startswith("framework."):
                    wrong.append(f"{where}: imports {module}; add what it needs to framework/__init__.py")
                elif module == "framework":
                    wrong += [f"{where}: {n} is not in framework.__all__" for n in names
                              if n not in framework.__all__]
    assert wrong == []


def test_every_public_name_is_exported_and_importable() -> None:
    assert len(set(framework.__all__)) == len(framework.__all__)
    assert all(hasattr(framework, name) for name in framework.__all__)
    assert (ROOT / "framework" / "py.typed").exists()


PACKAGE = '''\
"""A third-party connector: what a connector author writes, type-checked strictly."""

from __future__ import annotations

from typing import Any

from framework import (
    REQUIRED, Binding, Call, Connector, ConnectorRegister, ConnectorRegistry, OverrideBuilder, Param,
    Report, Setting, Territory, endpoint, hookimpl, job, JobRun,
)


class Weather(Connector):
    """Forecasts of a city."""

    id = "weather"
    title = "Weather"

    city = Setting(str, "Metz", "the city", pattern=r"[A-Za-z -]+")
    days = Setting(int, 3, "days of forecast", min=1, max=10)
    apikey = Setting(str, REQUIRED, "the service key", secret=True, variability="instance")

    @endpoint(permission="open", description="The forecast.",
              params=[Param("days", int, "how many days", 2, min=1, max=10)])
    def forecast(self, call: Call) -> dict[str, Any]:
        days: int = call.params.get("days") or self.days
        return {"city": self.city.upper(), "days": days + 1, "same": self.settings.city}

    @job(schedule="daily", description="Refresh.")
    def refresh(self, run: JobRun) -> None:
        run.advance(1, total=1)


def label(connector: Connector, text: str) -> str:
    return text.upper()


def checked(binding: Binding) -> tuple[str, ...]:
    return binding.setting_path("city")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Weather)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    for binding in territory.bindings.values():
        if binding.connector.id == "weather":
            report.warning(checked(binding), "looked at")


@hookimpl
def raccord_override(override: OverrideBuilder) -> None:
    override.set_extension("label", label)
'''

WRONG = '''\
from acme_weather import Weather


def days_as_text(w: Weather) -> str:
    return w.days
'''


def _site(tmp_path: Path) -> Path:
    """A Python environment where raccord is an installed package (found through
    site-packages, so only its py.typed makes it typed) beside its dependencies."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next(env.glob("lib/python*/site-packages"))
    installed = tmp_path / "installed"
    installed.mkdir()
    (installed / "framework").symlink_to(Path(framework.__file__).parent, target_is_directory=True)
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "pluggy").exists())
    (site / "raccord.pth").write_text(f"{installed}\n{deps}\n", encoding="utf-8")
    return env / "bin" / "python"


def _mypy(tmp_path: Path, python: Path, *files: str) -> subprocess.CompletedProcess[str]:
    cache = tmp_path / "mypy_cache"
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(cache),
         "--python-executable", str(python), *files],
        cwd=tmp_path / "pkg", capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "MYPYPATH"})


def test_a_third_party_connector_package_passes_mypy_strict(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "acme_weather"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PACKAGE, encoding="utf-8")
    (package / "py.typed").touch()
    (tmp_path / "pkg" / "wrong.py").write_text(textwrap.dedent(WRONG), encoding="utf-8")
    python = _site(tmp_path)
    good = _mypy(tmp_path, python, "acme_weather")
    assert good.returncode == 0, good.stdout + good.stderr
    # The settings are typed, not Any: a setting used as the wrong type is caught.
    bad = _mypy(tmp_path, python, "wrong.py")
    assert bad.returncode == 1
    assert 'Incompatible return value type (got "int", expected "str")' in bad.stdout, bad.stdout
