"""``raccord dispatch stats``: how mutualised requests were routed, for harmonisation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click


@click.group()
def dispatch() -> None:
    """Mutualised requests routed by the territory's dispatch binding."""


@dispatch.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="first day (included)")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="last day (included)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.pass_context
def stats(ctx: click.Context, since: dt.datetime | None, until: dt.datetime | None, as_json: bool) -> None:
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
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _table(rows, runtime.territory)


def _table(rows: list[dict[str, Any]], territory: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    names = {code: inst.title for inst in territory.instances.values() for code in inst.insee}
    table = Table("category", "commune", "total", "automatic", "triage", "% automatic", "triage reasons")
    for row in rows:
        share = f"{100 * row['automatic'] / row['total']:.0f} %" if row["total"] else "-"
        commune = f"{row['commune']} {names.get(row['commune'], '')}".strip() if row["commune"] else "(unknown)"
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(row["triage_reasons"].items()))
        table.add_row(row["category"], commune, str(row["total"]), str(row["automatic"]), str(row["triage"]),
                      share, reasons)
    total = sum(r["total"] for r in rows)
    auto = sum(r["automatic"] for r in rows)
    console = Console()
    console.print(table)
    console.print(f"{total} request(s), {auto} routed automatically, {total - auto} through triage")
