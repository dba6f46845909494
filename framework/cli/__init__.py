"""The ``raccord`` command. Subcommands live in their own modules and are imported
only when run, so ``raccord check`` does not pay for the gateway or SOAP imports."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from framework.errors import ConfigError, PluginError, RaccordError

#: name → "module:attribute"; a new command is one line here and one module beside it.
COMMANDS: dict[str, str] = {
    "check": "framework.cli.check:check",
    "list": "framework.cli.check:list_",
    "explain": "framework.cli.check:explain",
    "call": "framework.cli.call:call",
    "jobs": "framework.cli.jobs:jobs",
    "sync": "framework.cli.sync:sync",
    "worker": "framework.cli.worker:worker",
    "scheduler": "framework.cli.scheduler:scheduler",
    "serve": "framework.cli.serve:serve",
    "sign": "framework.cli.sign:sign",
    "costs": "framework.cli.costs:costs",
    "status": "framework.cli.status:status",
    "logs": "framework.cli.logs:logs",
    "docs": "framework.cli.docs:docs",
    "history": "framework.cli.history:history",
    "dispatch": "framework.cli.dispatch:dispatch",
    "new-connector": "framework.cli.new_connector:new_connector",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raccord", prog_name="raccord", message="%(prog)s %(version)s")
@click.option("--config", "-c", "config", metavar="PATH", envvar="RACCORD_CONFIG",
              default="instances.toml", show_default=True, help="the territory's instances.toml")
@click.pass_context
def cli(ctx: click.Context, config: str) -> None:
    """raccord: connectors written once, bound to every instance of a territory."""
    ctx.obj = {"config": config}


def open_runtime(ctx: click.Context, **kwargs: Any) -> Any:
    """The runtime for the command's --config, or exit 1 with every config error."""
    from framework.app import Raccord

    return Raccord.open(ctx.obj["config"], **kwargs)


def main(argv: list[str] | None = None) -> None:
    """Entry point: no traceback reaches the terminal for errors a person can fix."""
    try:
        cli.main(args=argv, prog_name="raccord", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(1)
    except (RaccordError, PluginError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:  # a file or directory the user named: say which and why
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"error:{where}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # an incident: say so plainly, keep the detail for debugging
        if os.environ.get("RACCORD_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set RACCORD_DEBUG=1 for details)", err=True)
        sys.exit(2)
