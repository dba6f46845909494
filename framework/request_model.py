"""What a mutualised request is (statuses, a decision, a stored request), apart from
where it is stored (:mod:`framework.storage.requests`, SQLAlchemy): connectors declare
their endpoints and jobs with these at import time, and ``raccord check`` imports the
connectors without the storage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRIAGE, NEW = "triage", "new"
#: Statuses the responsible instance may set (``reassigned`` sends it back to triage).
INSTANCE_STATUSES = ("received", "in_progress", "done", "refused", "reassigned")
STATUSES = (TRIAGE, NEW, "received", "in_progress", "done", "refused")
#: Name of the job a connector may declare to hear of requests dispatched to its instance.
DISPATCHED_JOB = "request_dispatched"


@dataclass(frozen=True)
class Decision:
    """Where a request goes: an instance (``status="new"``) or triage."""

    status: str
    method: str | None = None
    instance: str | None = None
    commune: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    triage_reason: str | None = None
    pending_geocoder: bool = False

    @property
    def triaged(self) -> bool:
        return self.status == TRIAGE


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    event: str
    status: str
    instance: str | None
    actor: str | None
    note: str | None
    details: Mapping[str, Any] | None

    def public(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "event": self.event, "status": self.status,
                "instance": self.instance, "actor": self.actor, "note": self.note,
                "details": dict(self.details or {})}


@dataclass(frozen=True)
class Request:
    """One mutualised request as stored."""

    id: int
    source: str
    category: str
    form_ref: str
    summary: str
    form_url: str
    location: Mapping[str, Any]
    status: str
    instance: str | None
    commune: str | None
    method: str | None
    evidence: Mapping[str, Any]
    queue: str | None
    triage_reason: str | None
    triaged: bool
    pending_geocoder: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    history: tuple[HistoryEntry, ...] = ()

    def public(self, *, with_history: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "text": f"{self.category} — {self.summary}" if self.summary else self.category,
            "category": self.category, "form_ref": self.form_ref, "summary": self.summary,
            "form_url": self.form_url, "location": dict(self.location), "status": self.status,
            "instance": self.instance, "commune": self.commune, "method": self.method,
            "evidence": dict(self.evidence), "queue": self.queue, "triage_reason": self.triage_reason,
            "pending_geocoder": self.pending_geocoder,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }
        if with_history:
            data["history"] = [h.public() for h in self.history]
        return data


@dataclass(frozen=True)
class Page:
    items: list[Request]
    total: int
