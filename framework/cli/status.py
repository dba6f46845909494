"""``raccord status``: each binding's availability (up, or down since when and why)."""

from __future__ import annotations

import sys
from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option


@click.command()
@click.option("--instance", "-i", help="only this instance's bindings")
@format_option()
@click.pass_context
def status(ctx: click.Context, instance: str | None, fmt: str) -> None:
    """Show whether each binding's business server is up, or down since when and why.

    Exits 1 when a binding is down (for monitoring scripts)."""
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
    entries = [binding_entry(key, rows.get(key)) for key in keys]
    down = sum(1 for e in entries if e["status"] == "down")
    if fmt == "json":
        emit_json("status", {"bindings": entries, "total": len(entries), "down": down})
    else:
        table = [[e["instance"], e["profile"], e["status"], (e["since"] or "")[:19].replace("T", " "),
                  _why(e)] for e in entries]
        echo_table([Col("instance", ident=True), Col("profile", ident=True), Col("status"),
                    Col("since (UTC)"), Col("why")], table, title="Availability of the bindings")
        click.echo(f"{len(keys)} binding(s): {down} down")
    if down:
        sys.exit(1)


def binding_entry(key: tuple[str, str], row: Any) -> dict[str, Any]:
    """One binding's availability as JSON (``status`` is up, down or unknown)."""
    if row is None:
        return {"instance": key[0], "profile": key[1], "status": "unknown", "since": None, "reason": None,
                "failures": 0, "checked_at": None}
    return {"instance": key[0], "profile": key[1], "status": row.status, "since": row.since.isoformat(),
            "reason": row.reason, "failures": row.failures, "checked_at": row.checked_at.isoformat()}


def _why(entry: dict[str, Any]) -> str:
    if entry["status"] == "unknown":
        return "not called nor checked yet"
    if entry["status"] == "down":
        return f"{entry['reason']} ({entry['failures']} consecutive failure(s))"
    return ""
