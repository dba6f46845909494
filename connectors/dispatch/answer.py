"""What callers see of a request: the stored row plus the responsible entity's identity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connectors.dispatch import territory as terr
from framework import BadRequest, Call, Request

if TYPE_CHECKING:
    from framework.config.model import Territory


def describe(territory: Territory, request: Request, *, with_history: bool = False) -> dict[str, Any]:
    """The request, who handles it (name, identity, back office), how it was decided
    (``decided_by``: insee, point, address, origin, manual) and on what evidence."""
    data = request.public(with_history=with_history)
    data["request_id"] = request.id
    data["decided_by"] = request.method if request.status != "triage" else None
    communes = terr.communes(territory)
    commune = communes.get(request.commune or "")
    data["commune"] = {"insee": request.commune, "name": commune.title if commune else None} \
        if request.commune else None
    inst = territory.instances.get(request.instance or "")
    if inst is not None and request.status != "triage":
        data["responsible"] = terr.Responsible(inst, str(request.evidence.get("rule", "matrix")),
                                               terr.served_by(territory, inst)).public(territory, request.commune)
    else:
        data["responsible"] = None
    data["triage"] = ({"queue": request.queue, "reason": request.triage_reason}
                      if request.status == "triage" else None)
    return data


def actor(call: Call, body: Mapping[str, Any] | None = None) -> str:
    """Who acts: the signed query's user, else the body's ``agent``, and the client."""
    user = call.user or {}
    who = user.get("email") or user.get("name_id") or str((body or {}).get("agent") or "").strip()
    via = call.client or "anonymous"
    return f"{who} via {via}" if who else via


def page_of(call: Call) -> tuple[int, int]:
    limit, offset = call.params.get("limit") or 50, call.params.get("offset") or 0
    if not 1 <= limit <= 200 or offset < 0:
        raise BadRequest("limit must be 1 to 200 and offset not negative", hint="e.g. limit=50&offset=100")
    return limit, offset


def period(since: str | None, until: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``[since, until]`` days as a half-open UTC datetime range."""
    end = _day(until, "until")
    return _day(since, "since"), end + dt.timedelta(days=1) if end is not None else None


def _day(text: str | None, name: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise BadRequest(f"parameter {name!r}: {text!r} is not a date", hint="write YYYY-MM-DD") from None
