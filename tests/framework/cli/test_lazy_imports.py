"""Commands import only what they use (issue #14): checked on what a fresh process has
in ``sys.modules`` when it exits, not on timings (those live in bench/startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

EXAMPLE = str(ROOT / "instances.toml")
EXAMPLE_TEXT = (ROOT / "instances.toml").read_text(encoding="utf-8")
#: Run the real command line, then print which modules the process imported.
CODE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps(sorted(sys.modules)), file=sys.stderr))
from framework.cli import main
sys.argv[0] = "raccord"
main()
"""
#: The runtime's heavy dependencies: none is needed to validate a territory (jsonschema and
#: APScheduler's cron parser are, unless the verification memo knows their verdicts).
RUNTIME = ("sqlalchemy", "alembic", "requests", "urllib3", "zeep", "jinja2", "gunicorn", "prometheus_client",
           "psycopg", "shapely", "numpy", "framework.app", "framework.journal", "framework.storage",
           "framework.outbound", "framework.gateway.app", "framework.gateway.server", "framework.gateway.auth")


def modules_of(args: list[str], tmp_path: Path, **extra: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_")}
    env["RACCORD_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env.update(extra)
    done = subprocess.run([sys.executable, "-c", CODE, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules)


def test_help_imports_neither_the_runtime_nor_the_plugins(tmp_path: Path) -> None:
    modules = modules_of(["--help"], tmp_path)
    assert loaded(modules, RUNTIME) == []
    # No plugin manager, no connector, no configuration model: only click and the errors.
    assert loaded(modules, ("pluggy", "jsonschema", "framework.config.model", "framework.plugins")) == []
    assert not any(m == "connectors" or m.startswith("connectors.") for m in modules)


def test_check_imports_no_runtime(tmp_path: Path) -> None:
    modules = modules_of(["--config", EXAMPLE, "check", "-q"], tmp_path)
    assert "connectors.open311.connector" in modules  # it did load every connector
    assert loaded(modules, RUNTIME) == []


def test_check_on_a_memo_hit_imports_neither_jsonschema_nor_apscheduler(tmp_path: Path) -> None:
    # The example with a cron schedule (its own jobs are interval schedules).
    text = EXAMPLE_TEXT.replace("[profiles.referentiel]\n",
                                '[profiles.adresse.jobs.sync_streets]\nschedule = "30 3 * * 1-5"\n\n'
                                "[profiles.referentiel]\n", 1)
    assert text != EXAMPLE_TEXT
    (tmp_path / "instances.toml").write_text(text, encoding="utf-8")
    (tmp_path / "data").symlink_to(ROOT / "data")
    check = ["--config", str(tmp_path / "instances.toml"), "check", "-q"]
    cache = {"RACCORD_CACHE_DIR": str(tmp_path / "cache")}
    heavy = ("apscheduler", "apscheduler.triggers.cron", "jsonschema")
    assert loaded(modules_of(check, tmp_path, **cache), heavy) == list(heavy)  # a miss: verified
    assert loaded(modules_of(check, tmp_path, **cache), heavy) == []  # a hit: remembered
    assert loaded(modules_of(check, tmp_path, RACCORD_CACHE_DIR=""), heavy) == list(heavy)  # no memo


def test_call_runs_alembic_only_while_the_schema_is_not_current(tmp_path: Path) -> None:
    call = ["--config", EXAMPLE, "call", "metz", "referentiel", "data", "q=metz"]
    assert "alembic" in modules_of(call, tmp_path)  # a new database: migrated
    again = modules_of(call, tmp_path)
    assert "sqlalchemy" in again  # it did open the database
    assert loaded(again, ("alembic", "framework.storage.migrate")) == []


def test_the_help_summaries_are_the_commands_own() -> None:
    import click

    from framework.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.help is not None
        written = " ".join(command.help.split("\n\n")[0].split())
        assert written == summary, f"{name}: update its summary in framework/cli/__init__.py's COMMANDS"


def test_serve_imports_jsonschema_before_forking_its_workers(tmp_path: Path) -> None:
    """A memo hit leaves jsonschema out of `check`; the serve master still imports it
    (framework.app imports the body validator) before the fork, so the gateway workers
    share it instead of each loading a copy while booting."""
    cache = {"RACCORD_CACHE_DIR": str(tmp_path / "cache")}
    modules_of(["--config", EXAMPLE, "check", "-q"], tmp_path, **cache)  # the memo, warm
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    code = ("import sys; from framework.gateway.server import precheck; "
            f"precheck({EXAMPLE!r}, database_url={database!r}); "
            "print('jsonschema' in sys.modules, 'apscheduler' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_")} | cache
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["True", "False"]
