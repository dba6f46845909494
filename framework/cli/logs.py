"""``raccord logs``: an instance's journal (inbound calls and outbound requests).

Rows hold no secrets (URLs are redacted when written); they are redacted again here,
so a row written by older code cannot show one either."""

from __future__ import annotations

import click


@click.command()
@click.argument("instance")
@click.option("--profile", "-p", help="only this profile's rows")
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="how many of the latest rows")
@click.option("--direction", type=click.Choice(["in", "out"]), help="inbound calls or outbound requests")
@click.pass_context
def logs(ctx: click.Context, instance: str, profile: str | None, limit: int,
         direction: str | None) -> None:
    """Show the latest journal rows of INSTANCE, oldest first."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import select

    from framework.cli import open_runtime
    from framework.config.report import did_you_mean
    from framework.errors import NotFound
    from framework.journal import redact_url
    from framework.storage.schema import journal

    runtime = open_runtime(ctx)
    try:
        if profile is not None:
            runtime.binding(instance, profile)  # NotFound names the culprit and the choices
        elif instance not in runtime.territory.instances:
            raise NotFound(f"unknown instance {instance!r}",
                           hint=did_you_mean(instance, runtime.territory.instances)
                           or "`raccord list` shows the instances")
        query = select(journal).where(journal.c.instance == instance)
        if profile is not None:
            query = query.where(journal.c.profile == profile)
        if direction is not None:
            query = query.where(journal.c.direction == direction)
        with runtime.db.engine.connect() as conn:
            rows = conn.execute(query.order_by(journal.c.id.desc()).limit(limit)).all()
    finally:
        runtime.close()
    table = Table(title=f"Journal of {instance}" + (f"/{profile}" if profile else ""))
    for column in ("at (UTC)", "dir", "profile", "what", "status", "ms", "error"):
        table.add_column(column, overflow="fold")
    for row in reversed(rows):
        what = f"{row.method or ''} {redact_url(row.url) if row.url else row.endpoint or ''}".strip()
        status = "" if row.status is None else str(row.status)
        ms = "" if row.duration_ms is None else f"{row.duration_ms:.1f}"
        error = " ".join(x for x in (row.err_class, row.error) if x)
        table.add_row(f"{row.at:%Y-%m-%d %H:%M:%S}", row.direction, row.profile or "", what,
                      status, ms, error)
    Console().print(table)
    click.echo(f"{len(rows)} row(s)")
