"""``raccord dispatch stats``: how mutualised requests were routed, for harmonisation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option


@click.group()
def dispatch() -> None:
    """Mutualised requests routed by the territory's dispatch binding."""


@dispatch.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="first day (included)")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="last day (included)")
@format_option()
@click.pass_context
def stats(ctx: click.Context, since: dt.datetime | None, until: dt.datetime | None, fmt: str) -> None:
    """Per category and commune: requests routed automatically, and those that needed
    triage (and why) — which referentials to improve."""
    from framework.cli import open_runtime
    from framework.storage.requests import dispatch_stats

    start = since.replace(tzinfo=dt.UTC) if since else None
    end = until.replace(tzinfo=dt.UTC) + dt.timedelta(days=1) if until else None
    runtime = open_runtime(ctx)
    try:
        rows = dispatch_stats(runtime.db, since=start, until=end)
    finally:
        runtime.close()
    if fmt == "json":
        emit_json("dispatch stats", {"since": start, "until": end, "rows": rows})
        return
    _table(rows, runtime.territory)


def _table(rows: list[dict[str, Any]], territory: Any) -> None:
    names = {code: inst.title for inst in territory.instances.values() for code in inst.insee}
    lines = []
    for row in rows:
        share = f"{100 * row['automatic'] / row['total']:.0f} %" if row["total"] else "-"
        commune = f"{row['commune']} {names.get(row['commune'], '')}".strip() if row["commune"] else "(unknown)"
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(row["triage_reasons"].items()))
        lines.append([row["category"], commune, str(row["total"]), str(row["automatic"]), str(row["triage"]),
                      share, reasons])
    echo_table([Col("category", ident=True), Col("commune", ident=True), Col("total", right=True),
                Col("automatic", right=True), Col("triage", right=True), Col("% automatic", right=True),
                Col("triage reasons")], lines)
    total = sum(r["total"] for r in rows)
    auto = sum(r["automatic"] for r in rows)
    click.echo(f"{total} request(s), {auto} routed automatically, {total - auto} through triage")
