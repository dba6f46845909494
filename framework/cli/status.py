"""``raccord status``: each binding's availability (up, or down since when and why)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--instance", "-i", help="only this instance's bindings")
@click.pass_context
def status(ctx: click.Context, instance: str | None) -> None:
    """Show whether each binding's business server is up, or down since when and why.

    Exits 1 when a binding is down (for monitoring scripts)."""
    from rich.console import Console
    from rich.table import Table

    from framework import availability
    from framework.cli import open_runtime
    from framework.errors import NotFound

    runtime = open_runtime(ctx)
    try:
        if instance is not None and instance not in runtime.territory.instances:
            raise NotFound(f"unknown instance {instance!r}", hint="`raccord list` shows the instances")
        rows = availability.read_all(runtime.db)
        keys = sorted(k for k in runtime.territory.bindings if instance in (None, k[0]))
    finally:
        runtime.close()
    table = Table(title="Availability of the bindings")
    for column in ("instance", "profile", "status", "since (UTC)", "why"):
        table.add_column(column, overflow="fold")
    down = 0
    for key in keys:
        row = rows.get(key)
        if row is None:
            table.add_row(*key, "[dim]unknown[/dim]", "", "not called nor checked yet")
        elif row.status == "up":
            table.add_row(*key, "[green]up[/green]", f"{row.since:%Y-%m-%d %H:%M:%S}", "")
        else:
            down += 1
            why = f"{row.reason} ({row.failures} consecutive failure(s))"
            table.add_row(*key, "[red]down[/red]", f"{row.since:%Y-%m-%d %H:%M:%S}", why)
    Console().print(table)
    click.echo(f"{len(keys)} binding(s): {down} down")
    if down:
        sys.exit(1)
