"""Followed requests: what raccord keeps of each request it posted, and its history.

One record per request in the binding's store (collection ``requests``), keyed by
the request's reference (the caller's ``external_id``, or a digest of the request):

``state``: ``new`` → ``sending`` (a POST may have reached the server) → ``created``
(a ``service_request_id``) or ``token`` (to resolve) — or ``rejected`` (the server
refused it: the caller's data). ``status`` is the server's status once known;
``final`` is set when it reaches one of the binding's final statuses. ``history``
lists every event with its date: queued, created, token resolved, each status change,
each notification. The citizen's e-mail address is kept for the notification only:
:func:`public` masks it, and it is never logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

COLLECTION = "requests"
OPEN_STATES = ("created", "token")


def now() -> str:
    # Milliseconds: events of one second (dispatched, queued, created) keep their order.
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def reference(body: Mapping[str, Any], served: str) -> str:
    """The request's stable reference: the caller's ``external_id`` or, without one, a
    digest of what was sent (the same request posted twice is one request)."""
    if body.get("external_id"):
        return str(body["external_id"])
    digest = hashlib.sha256(json.dumps([served, body], sort_keys=True, default=str).encode()).hexdigest()
    return f"r-{digest[:24]}"


def new_record(ref: str, body: Mapping[str, Any], served: str, jurisdiction: str) -> dict[str, Any]:
    notify = body.get("notify", True) and bool(body.get("email"))
    return {
        "ref": ref, "state": "new", "on_behalf_of": served, "jurisdiction_id": jurisdiction,
        "service_code": body["service_code"], "request": dict(body),
        "service_request_id": None, "token": None, "status": None, "status_notes": None,
        "final": False, "job_id": None, "created_at": now(), "sent_at": None,
        "notify": {"email": body["email"]} if notify else None,
        "dispatch": body.get("dispatch"), "history": [],
    }


def event(record: dict[str, Any], kind: str, **fields: Any) -> None:
    record["history"].append({"at": now(), "event": kind, **{k: v for k, v in fields.items() if v is not None}})


def text(record: Mapping[str, Any]) -> str:
    """What the store's search matches: the reference and the ticket id."""
    return " ".join(str(record.get(k) or "") for k in ("ref", "service_request_id", "token", "on_behalf_of"))


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as a caller or an admin sees it: the citizen's address masked, the
    posted fields reduced to what identifies the request."""
    request = record.get("request") or {}
    out = {k: v for k, v in record.items() if k not in ("request", "notify")}
    out["request"] = {k: request.get(k) for k in ("service_code", "description", "address_string", "lat", "long")
                      if request.get(k) is not None}
    from framework import mask_email  # with the journal (SQLAlchemy): not at import, which `check` pays

    notify = record.get("notify")
    out["notify"] = {"email": mask_email(notify["email"])} if notify else None
    return out


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """What ``create`` answers."""
    return {"id": record["ref"], "service_request_id": record.get("service_request_id"),
            "token": record.get("token"), "status": record.get("status") or "pending",
            "on_behalf_of": record.get("on_behalf_of")}


def changed(record: Mapping[str, Any], remote: Mapping[str, Any]) -> bool:
    return bool(remote.get("status")) and (remote.get("status") != record.get("status")
                                           or (remote.get("status_notes") or None) != record.get("status_notes"))


def same_request(sent: Mapping[str, Any], found: Mapping[str, Any]) -> bool:
    """Whether a request found on the server is the one a lost answer created: the same
    service, description and place (servers have no idempotency key of their own)."""
    if str(found.get("service_code") or sent.get("service_code")) != str(sent.get("service_code")):
        return False
    if (found.get("description") or "") != (sent.get("description") or ""):
        return False
    if sent.get("lat") is not None and found.get("lat") is not None:
        return bool(abs(float(found["lat"]) - float(sent["lat"])) < 1e-5
                    and abs(float(found["long"]) - float(sent["long"])) < 1e-5)
    return (found.get("address") or "") == (sent.get("address_string") or "")
