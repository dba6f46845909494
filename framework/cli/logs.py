"""``raccord logs``: an instance's journal (inbound calls and outbound requests).

Rows hold no secrets (URLs are redacted when written); they are redacted again here,
so a row written by older code cannot show one either."""

from __future__ import annotations

from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option


@click.command()
@click.argument("instance")
@click.option("--profile", "-p", help="only this profile's rows")
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="how many of the latest rows")
@click.option("--direction", type=click.Choice(["in", "out"]), help="inbound calls or outbound requests")
@format_option()
@click.pass_context
def logs(ctx: click.Context, instance: str, profile: str | None, limit: int,
         direction: str | None, fmt: str) -> None:
    """Show the latest journal rows of INSTANCE, oldest first."""
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
    entries = [row_entry(row, redact_url) for row in reversed(rows)]
    if fmt == "json":
        emit_json("logs", {"instance": instance, "profile": profile, "rows": entries})
        return
    table = [[e["at"][:19].replace("T", " "), e["direction"], e["profile"] or "", e["what"],
              "" if e["status"] is None else str(e["status"]),
              "" if e["duration_ms"] is None else f"{e['duration_ms']:.1f}",
              " ".join(x for x in (e["err_class"], e["error"]) if x)] for e in entries]
    echo_table([Col("at (UTC)"), Col("dir"), Col("profile", ident=True), Col("what"), Col("status"),
                Col("ms", right=True), Col("error")], table,
               title=f"Journal of {instance}" + (f"/{profile}" if profile else ""))
    click.echo(f"{len(rows)} row(s)")


def row_entry(row: Any, redact_url: Any) -> dict[str, Any]:
    """A journal row as JSON (URLs redacted again: a row from older code cannot leak)."""
    what = f"{row.method or ''} {redact_url(row.url) if row.url else row.endpoint or ''}".strip()
    return {"id": row.id, "at": row.at.isoformat(), "direction": row.direction, "profile": row.profile,
            "endpoint": row.endpoint, "client": row.client, "method": row.method,
            "url": redact_url(row.url) if row.url else None, "what": what, "status": row.status,
            "duration_ms": row.duration_ms, "err_class": row.err_class, "error": row.error,
            "override": row.override, "incident": row.incident}
