"""Mutualised requests: what a territory's dispatch binding routed, and to whom.

A request is created by the dispatch binding of the triage instance (its ``source``)
and read by the responsible instance's inbox binding: data crossing bindings, so it
has its own tables (``requests``, ``request_history``) rather than a RecordStore
collection, and every read that serves a caller is scoped by instance — an instance
never reads another's requests.

Statuses: ``triage`` (waiting in the first recipients' queue, no instance yet),
``new`` (dispatched, not yet seen), then what the responsible instance sets:
``received``, ``in_progress``, ``done``, ``refused``. ``reassigned`` is not a resting
status: the instance hands the request back and it returns to ``triage``.

Other connectors learn that a request was dispatched to their instance through
:func:`notify_dispatched` (a queued job named :data:`DISPATCHED_JOB`), and read it
with :meth:`RequestStore.get` — see docs/dispatch.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select, true, update

from framework.request_model import DISPATCHED_JOB, TRIAGE, Decision, HistoryEntry, Page, Request
from framework.runtime.txn import aware, utcnow, write_tx
from framework.storage.db import Database
from framework.storage.schema import request_history, requests


def _request(row: Any, history: Iterable[HistoryEntry] = ()) -> Request:
    m = row._mapping
    return Request(
        id=int(m["id"]), source=m["source"], category=m["category"], form_ref=m["form_ref"],
        summary=m["summary"], form_url=m["form_url"], location=m["location"] or {}, status=m["status"],
        instance=m["instance"], commune=m["commune"], method=m["method"], evidence=m["evidence"] or {},
        queue=m["queue"], triage_reason=m["triage_reason"], triaged=bool(m["triaged"]),
        pending_geocoder=bool(m["pending_geocoder"]),
        created_at=aware(m["created_at"]), updated_at=aware(m["updated_at"]),  # type: ignore[arg-type]
        history=tuple(history),
    )


def _entry(row: Any) -> HistoryEntry:
    m = row._mapping
    return HistoryEntry(at=aware(m["at"]), event=m["event"], status=m["status"],  # type: ignore[arg-type]
                        instance=m["instance"], actor=m["actor"], note=m["note"], details=m["details"])


def _decided(decision: Decision) -> dict[str, Any]:
    return {"status": decision.status, "instance": decision.instance, "commune": decision.commune,
            "method": decision.method, "evidence": dict(decision.evidence), "queue": decision.queue,
            "triage_reason": decision.triage_reason, "pending_geocoder": int(decision.pending_geocoder)}


class RequestStore:
    """The requests of one database. Reads that serve a caller pass ``instance``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing ----------------------------------------------------------------------

    def create(self, source: str, fields: Mapping[str, Any], decision: Decision, *,
               actor: str | None = None) -> Request:
        """Store a new request with its first decision (one history entry)."""
        now = utcnow()
        row = {"source": source, "category": str(fields.get("category", "")),
               "form_ref": str(fields.get("form_ref") or ""), "summary": str(fields.get("summary") or ""),
               "form_url": str(fields.get("form_url") or ""), "location": dict(fields.get("location") or {}),
               "triaged": int(decision.triaged), "created_at": now, "updated_at": now, **_decided(decision)}
        with write_tx(self.db) as conn:
            new_id = int(conn.execute(insert(requests).returning(requests.c.id), row).scalar_one())
            self._log(conn, new_id, "triaged" if decision.triaged else "dispatched", decision.status,
                      decision.instance, actor, decision.triage_reason, {"method": decision.method}, now)
        found = self.get(new_id)
        assert found is not None
        return found

    def decide(self, request_id: int, decision: Decision, *, event: str, actor: str | None = None,
               note: str | None = None, expect_status: Sequence[str] | None = None,
               expect_instance: str | None = None) -> Request | None:
        """Apply a new decision (manual assignment, automatic re-dispatch). With
        ``expect_status`` (and ``expect_instance``), only a request still in one of those
        statuses (and with that instance) changes — two agents assigning at once: the
        first wins; None when nothing changed."""
        if not _storable(request_id):
            return None
        now = utcnow()
        values = {**_decided(decision), "updated_at": now}
        if decision.triaged:
            values["triaged"] = 1
        else:  # statistics keep why it once needed triage
            del values["triage_reason"]
        where = [requests.c.id == request_id]
        if expect_status is not None:
            where.append(requests.c.status.in_(expect_status))
        if expect_instance is not None:
            where.append(requests.c.instance == expect_instance)
        with write_tx(self.db) as conn:
            done = conn.execute(update(requests).where(*where).values(**values))
            if not done.rowcount:
                return None
            self._log(conn, request_id, event, decision.status, decision.instance, actor, note,
                      {"method": decision.method, "reason": decision.triage_reason}, now)
        return self.get(request_id)

    def set_status(self, request_id: int, instance: str, status: str, *, actor: str | None,
                   note: str | None = None) -> Request | None:
        """The responsible instance moves its request on; None if it is not its own."""
        if not _storable(request_id):
            return None
        now = utcnow()
        with write_tx(self.db) as conn:
            done = conn.execute(update(requests).where(
                requests.c.id == request_id, requests.c.instance == instance,
                requests.c.status != TRIAGE).values(status=status, updated_at=now))
            if not done.rowcount:
                return None
            self._log(conn, request_id, "status", status, instance, actor, note, None, now)
        return self.get(request_id, instance=instance)

    def _log(self, conn: Any, request_id: int, event: str, status: str, instance: str | None,
             actor: str | None, note: str | None, details: Mapping[str, Any] | None, at: dt.datetime) -> None:
        conn.execute(insert(request_history), {
            "request_id": request_id, "at": at, "event": event, "status": status, "instance": instance,
            "actor": (actor or "")[:255] or None, "note": note, "details": dict(details) if details else None})

    # -- reading ----------------------------------------------------------------------

    def get(self, request_id: int, *, instance: str | None = None) -> Request | None:
        """One request with its history; with ``instance``, only if dispatched to it."""
        if not _storable(request_id):
            return None
        query = select(requests).where(requests.c.id == request_id)
        if instance is not None:
            query = query.where(requests.c.instance == instance)
        with self.db.engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            history = conn.execute(select(request_history).where(request_history.c.request_id == request_id)
                                   .order_by(request_history.c.id)).all()
        return _request(row, (_entry(h) for h in history))

    def search(self, *, instance: str | None = None, queue: str | None = None, status: str | None = None,
               category: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               limit: int = 50, offset: int = 0, source: str | None = None) -> Page:
        """Requests newest first, filtered, one page of them and the total."""
        where = _filters(instance=instance, queue=queue, status=status, category=category, since=since,
                         until=until, source=source)
        with self.db.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(requests).where(where)).scalar_one())
            rows = conn.execute(select(requests).where(where).order_by(requests.c.id.desc())
                                .limit(limit).offset(offset)).all()
        return Page([_request(r) for r in rows], total)

    def waiting_for_geocoder(self, source: str, limit: int = 100) -> list[Request]:
        """Requests triaged because the geocoder was down, oldest first."""
        query = (select(requests).where(requests.c.source == source, requests.c.status == TRIAGE,
                                        requests.c.pending_geocoder == 1)
                 .order_by(requests.c.id).limit(limit))
        with self.db.engine.connect() as conn:
            return [_request(r) for r in conn.execute(query)]

    def stats(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
              source: str | None = None) -> list[dict[str, Any]]:
        """Per category and commune: requests created in the period, how many were
        routed automatically and how many needed triage (and why)."""
        where = _filters(since=since, until=until, source=source)
        cols = (requests.c.category, requests.c.commune, requests.c.triaged, requests.c.triage_reason)
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(*cols, func.count()).where(where).group_by(*cols)).all()
        return _aggregate(rows)


def _filters(**given: Any) -> Any:
    column = {"instance": requests.c.instance, "queue": requests.c.queue, "status": requests.c.status,
              "category": requests.c.category, "source": requests.c.source}
    clauses = [column[k] == v for k, v in given.items() if k in column and v is not None]
    if given.get("since") is not None:
        clauses.append(requests.c.created_at >= given["since"])
    if given.get("until") is not None:
        clauses.append(requests.c.created_at < given["until"])
    return and_(true(), *clauses)


def _aggregate(rows: Iterable[Any]) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for category, commune, triaged, reason, count in rows:
        key = (category, commune or "")
        entry = table.setdefault(key, {"category": category, "commune": commune, "total": 0,
                                       "automatic": 0, "triage": 0, "triage_reasons": {}})
        entry["total"] += count
        if triaged:
            entry["triage"] += count
            reasons = entry["triage_reasons"]
            reasons[reason or "reassigned"] = reasons.get(reason or "reassigned", 0) + count
        else:
            entry["automatic"] += count
    return [table[k] for k in sorted(table)]


def dispatch_stats(db: Database, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                   source: str | None = None) -> list[dict[str, Any]]:
    """Statistics of the mutualised requests (``raccord dispatch stats``, status page):
    one row per category and commune with ``total``, ``automatic``, ``triage`` and
    ``triage_reasons`` (reason → count)."""
    return RequestStore(db).stats(since=since, until=until, source=source)


def notify_dispatched(db: Database, request: Request, bindings: Iterable[tuple[str, str]]) -> list[int]:
    """Queue :data:`DISPATCHED_JOB` on each ``(instance, profile)`` given (the bindings of
    the responsible instance whose connector declares that job): the job's payload is
    ``{"request_id", "instance", "status"}``; the key makes each dispatch notify once."""
    from framework.runtime.queue import enqueue

    ids = []
    for instance, profile in bindings:
        key = f"dispatch-{request.id}-{request.instance}-{len(request.history)}"
        ids.append(enqueue(db, instance, profile, DISPATCHED_JOB,
                           {"request_id": request.id, "instance": request.instance, "status": request.status},
                           idempotency_key=key))
    return ids


def _storable(request_id: int) -> bool:
    """Whether an id a caller gave can be a request's: ids are positive 64-bit integers,
    and a larger one (``?id=9223372036854775808``, found by the OpenAPI fuzz) made the
    database driver raise — an incident instead of "no such request"."""
    return 0 < request_id < 2**63
