"""The ``raccord`` command. Subcommands live in their own modules and are imported
only when run, so ``raccord check`` does not pay for the gateway or SOAP imports."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click
from click.utils import make_default_short_help

from framework.errors import ConfigError, PluginError, RaccordError

#: name → ("module:attribute", summary); a new command is one line here and one module
#: beside it. The summary is the first paragraph of the command's docstring, written
#: here too so that ``raccord --help`` lists the commands without importing any of them
#: (tests/framework/cli/test_lazy_imports.py keeps the two the same).
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("framework.cli.check:check",
              "Validate instances.toml: every error at once, with file:line; exit 1 on error."),
    "list": ("framework.cli.check:list_", "List instances, their topology and the profiles they bind."),
    "explain": ("framework.cli.check:explain",
                "Show each effective setting of a binding, where it comes from and what it shadows."),
    "call": ("framework.cli.call:call", "Call ENDPOINT of INSTANCE/PROFILE with name=value PARAMS; exit 1 on error."),
    "jobs": ("framework.cli.jobs:jobs", "Inspect and manage the job queue (pushes, periodic synchronisations)."),
    "sync": ("framework.cli.sync:sync", "Run JOB of INSTANCE/PROFILE now, in this process; exit 1 if it fails."),
    "worker": ("framework.cli.worker:worker", "Claim and run queued jobs until interrupted."),
    "scheduler": ("framework.cli.scheduler:scheduler",
                  "Enqueue each binding's periodic jobs on schedule until interrupted."),
    "serve": ("framework.cli.serve:serve",
              "Serve every instance's endpoints over HTTP (stop with Ctrl-C or SIGTERM; reload with SIGHUP)."),
    "sign": ("framework.cli.sign:sign",
             "Print URL signed with the secret in $VAR (orig, algo, timestamp, nonce, signature)."),
    "costs": ("framework.cli.costs:costs", "Who pays what: shared shares, specific costs and overrides, in euros."),
    "status": ("framework.cli.status:status",
               "Show whether each binding's business server is up, or down since when and why."),
    "logs": ("framework.cli.logs:logs", "Show the latest journal rows of INSTANCE, oldest first."),
    "docs": ("framework.cli.docs:docs",
             "Generate docs/hooks.md, docs/api.md, docs/testing.md and docs/connectors/<id>.md from the code."),
    "history": ("framework.cli.history:history",
                "The whole history of one report: REF is its reference (a form's external_id), its ticket id "
                "or its dispatch request id. Citizens' addresses are shown masked."),
    "dispatch": ("framework.cli.dispatch:dispatch", "Mutualised requests routed by the territory's dispatch binding."),
    "new-connector": ("framework.cli.new_connector:new_connector",
                      "Scaffold connectors/NAME/ with a class, a test and a README — or, with --package DIR, a "
                      "standalone distribution (pyproject.toml with the raccord entry point, src layout, py.typed, "
                      "a connector with an endpoint, a job and a health check, tests using raccord's pytest "
                      "plugin, a README) whose tests pass at once."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = COMMANDS.get(name)
        if found is None:
            return None
        module, _, attr = found[0].partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries above: as click would print it from each
        command's docstring, without importing every command (and all they import)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, make_default_short_help(COMMANDS[name][1], limit)) for name in names])


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
