"""What ``raccord history`` shows of a followed request (the ``raccord_history`` hook)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.open311 import follow
from framework import RequestStore


def events(raccord: Any, ref: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for (instance, profile), binding in raccord.territory.bindings.items():
        if binding.connector.id != "open311":
            continue
        store = raccord.bound(instance, profile).connector.store
        for record in _matching(store, ref):
            found.extend(_events(record, instance, profile, raccord.db))
    return found


def _matching(store: Any, ref: str) -> Iterator[dict[str, Any]]:
    record = store.get(follow.COLLECTION, ref)
    if record is not None:
        yield record
        return
    for candidate in store.search(follow.COLLECTION, ref):
        dispatch = candidate.get("dispatch") or {}
        if ref in (candidate.get("service_request_id"), candidate.get("token"), str(dispatch.get("request_id"))):
            yield candidate


def _events(record: Mapping[str, Any], instance: str, profile: str, db: Any) -> Iterator[dict[str, Any]]:
    where = {"instance": instance, "profile": profile, "ref": record["ref"]}
    dispatch = record.get("dispatch")
    steps = _dispatch_history(db, dispatch)
    if steps:
        yield from ({**where, **step} for step in steps)
    elif dispatch:
        yield {**where, "at": record.get("created_at"), "event": "dispatched", "detail": _dispatched(dispatch)}
    for entry in record.get("history") or []:
        yield {**where, "at": entry.get("at"), "event": entry["event"], "detail": _detail(record, entry)}


def _dispatch_history(db: Any, dispatch: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The dispatched request's own history (route, triage, assignment), with how it
    was decided: where it went and why."""
    if not dispatch or dispatch.get("request_id") is None:
        return []
    request = RequestStore(db).get(int(dispatch["request_id"]))
    if request is None:
        return []
    steps = []
    for entry in request.history:
        if entry.event == "status" and entry.actor and entry.actor.startswith("open311 "):
            continue  # the ticket's own steps, shown from the ticket's history
        how = (entry.details or {}).get("method") or request.method
        detail = f"{entry.status} → {entry.instance or 'triage'}"
        if how:
            detail += f" (decided by {how}" + (f", commune {request.commune}" if request.commune else "") + ")"
        if entry.note:
            detail += f": {entry.note}"
        steps.append({"at": entry.at.isoformat(), "event": f"dispatch {entry.event}", "detail": detail,
                      "request_id": request.id})
    return steps


def _dispatched(dispatch: Mapping[str, Any]) -> str:
    responsible = dispatch.get("responsible") or {}
    who = responsible.get("instance") or dispatch.get("instance") or "?"
    how = dispatch.get("decided_by") or dispatch.get("method") or "?"
    parts = [f"to {who} (decided by {how})"]
    if dispatch.get("request_id"):
        parts.append(f"dispatch request {dispatch['request_id']}")
    commune = dispatch.get("commune")
    if isinstance(commune, dict) and commune.get("name"):
        parts.append(f"commune {commune['name']}")
    return ", ".join(parts)


def _detail(record: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    kind = entry["event"]
    if kind in ("created", "recovered", "token_resolved"):
        ticket = entry.get("service_request_id") or f"token {entry.get('token')}"
        return f"ticket {ticket} for {record.get('on_behalf_of')}" + (
            f" (jurisdiction {record['jurisdiction_id']})" if record.get("jurisdiction_id") else "")
    if kind == "status":
        return f"{entry.get('status')}" + (f": {entry['notes']}" if entry.get("notes") else "")
    if kind == "notification":
        return f"e-mail queued (job {entry.get('job_id')}, profile {entry.get('profile')}) to {entry.get('to')}"
    if kind == "queued":
        return f"server down, queued as job {entry.get('job_id')}: {entry.get('reason')}"
    return str(entry.get("error") or entry.get("reason") or "")
