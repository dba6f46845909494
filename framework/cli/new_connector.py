"""``raccord new-connector``: scaffold a connector package, its tests and its README."""

from __future__ import annotations

from pathlib import Path

import click

INIT = '''"""{name}: {title}."""

from framework import hookimpl
from framework.registry import ConnectorRegister


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.{name}.connector import {cls}

    register.add({cls})
'''

CONNECTOR = '''"""The {name} connector class."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, Param, Setting, endpoint


class {cls}(Connector):
    """{title}: describe what business software this connects and how."""

    id = "{name}"
    title = "{title}"

    url = Setting(str, description="base URL of the business server", variability="instance")
    token = Setting(str, description="API token", secret=True, variability="instance")

    # Who may call it: "can_access" (clients given that permission in instances.toml),
    # or "open" for public reads (side effects open to anyone need open_reason="…").
    @endpoint(permission="can_access",
              description="Check the business server answers (replace with a real endpoint).",
              params=[Param("q", str, "what to look for", "example")])
    def ping(self, call: Call) -> Any:
        headers = {{"Authorization": f"Bearer {{self.settings.token}}"}}
        return self.http.get_json(f"{{self.settings.url}}/ping", params=dict(call.params), headers=headers)
'''

TEST = '''"""Tests of the {name} connector (HTTP faked with responses: no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from framework.testing import call, make_raccord

TERRITORY = """
[profiles.p]
connector = "{name}"

[instances.metz]
profiles = ["p"]
[instances.metz.settings.p]
url = "https://server.example"
token = {{ env = "{env}" }}
"""


@responses.activate
def test_ping_returns_the_servers_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("{env}", "t0ken")
    responses.get("https://server.example/ping", json={{"ok": True}})
    r = make_raccord(TERRITORY, tmp_path)
    try:
        assert call(r, "metz/p/ping", q="x") == {{"ok": True}}
        assert responses.calls[0].request.headers["Authorization"] == "Bearer t0ken"
    finally:
        r.close()
'''

README = '''# `{name}` — {title}

Describe the business software, the settings (`url`, `token`) and the endpoints
(`ping`). `docs/connectors/{name}.md` is generated from the code by `raccord docs`.
'''


@click.command("new-connector")
@click.argument("name")
@click.option("--title", default="", help="a human title")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="the project root (inside this repository)")
@click.option("--package", "package_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="scaffold a standalone distribution in this new directory instead")
def new_connector(name: str, title: str, root: Path, package_dir: Path | None) -> None:
    """Scaffold connectors/NAME/ with a class, a test and a README — or, with --package DIR,
    a standalone distribution (pyproject.toml with the raccord entry point, src layout,
    py.typed, a connector with an endpoint, a job and a health check, tests using
    raccord's pytest plugin, a README) whose tests pass at once."""
    if not name.isidentifier() or not name.islower():
        raise click.BadParameter("use a lower-case Python identifier, e.g. gru_ticketing", param_hint="NAME")
    values = {"name": name, "title": title or name.replace("_", " ").capitalize(),
              "cls": "".join(p.capitalize() for p in name.split("_")), "env": f"{name.upper()}_TOKEN",
              "pkg": f"raccord_{name}", "dist": f"raccord-{name.replace('_', '-')}"}
    if package_dir is not None:
        _scaffold_package(package_dir, values)
        return
    package = root / "connectors" / name
    if package.exists():
        raise click.ClickException(f"{package} already exists")
    files = {package / "__init__.py": INIT, package / "connector.py": CONNECTOR, package / "README.md": README,
             root / "tests" / "connectors" / f"test_{name}.py": TEST}
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        click.echo(f"created {path}")
    click.echo("\nRegister it in pyproject.toml, then reinstall (pip install -e .):\n"
               f'  [project.entry-points.raccord]\n  {name} = "connectors.{name}"')


def _scaffold_package(target: Path, values: dict[str, str]) -> None:
    """Render framework/scaffold/package/ into ``target`` (``__pkg__``/``__name__`` in
    paths become the import package and the connector id)."""
    from string import Template

    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} exists and is not empty: choose a new directory")
    source = Path(__file__).resolve().parent.parent / "scaffold" / "package"
    for template in sorted(source.rglob("*.tmpl")):
        relative = str(template.relative_to(source))[: -len(".tmpl")]
        path = target / relative.replace("__pkg__", values["pkg"]).replace("__name__", values["name"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        click.echo(f"created {path}")
    click.echo(f"\nInstall it beside raccord and run its tests:\n  pip install -e '{target}[test]'\n"
               f"  cd {target} && pytest && mypy")
