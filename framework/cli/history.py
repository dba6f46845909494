"""``raccord history <ref>``: everything the plugins know about one report, by date.

Each plugin contributes through the ``raccord_history`` hook (dispatch: where and why
it went; open311: the ticket and each status; email: each message sent), so the
command knows nothing of any connector.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option
from framework.errors import NotFound


def gather(raccord: Any, ref: str) -> list[dict[str, Any]]:
    """Every plugin's events about ``ref``, oldest first (ties keep the plugins' order)."""
    from framework.plugins import make_plugin_manager

    pm = raccord.pm or make_plugin_manager()
    events = [dict(e) for found in pm.hook.raccord_history(raccord=raccord, ref=ref) if found for e in found]
    return sorted(events, key=_when)


def _when(event: dict[str, Any]) -> dt.datetime:
    """An event's date for sorting: plugins write ISO 8601 with any precision."""
    try:
        at = dt.datetime.fromisoformat(str(event.get("at")))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@click.command()
@click.argument("ref")
@format_option()
@click.pass_context
def history(ctx: click.Context, ref: str, fmt: str) -> None:
    """The whole history of one report: REF is its reference (a form's external_id), its
    ticket id or its dispatch request id. Citizens' addresses are shown masked."""
    from framework.cli import open_runtime

    runtime = open_runtime(ctx)
    try:
        events = gather(runtime, ref)
    finally:
        runtime.close()
    if not events:
        raise NotFound(f"nothing is known of {ref!r}",
                       hint="give a request's reference (create's id), its ticket id or its dispatch id")
    if fmt == "json":
        emit_json("history", {"ref": ref, "events": events})
        return
    rows = [[str(e.get("at") or ""), f"{e.get('instance', '')}/{e.get('profile', '')}", str(e.get("event", "")),
             str(e.get("detail") or "")] for e in events]
    echo_table([Col("at", ident=True), Col("where", ident=True), Col("event", ident=True), Col("detail")], rows,
               title=f"history of {ref}")
