"""Availability of each binding: up, or down since when and why.

Written by the circuit breaker on state changes and by the health-check job; read by
``raccord status`` (and any dashboard). One row per (instance, profile).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from framework.storage.db import Database
from framework.storage.schema import availability

log = logging.getLogger("raccord.availability")


@dataclass(frozen=True)
class Availability:
    instance: str
    profile: str
    status: str  # "up" | "down"
    since: dt.datetime
    reason: str | None
    failures: int
    checked_at: dt.datetime

    def describe(self) -> str:
        if self.status == "up":
            return f"up since {self.since:%Y-%m-%d %H:%M} UTC"
        return f"down since {self.since:%Y-%m-%d %H:%M:%S} UTC: {self.reason}"


def write(db: Database, instance: str, profile: str, *, status: str, since: dt.datetime,
          reason: str | None = None, failures: int = 0) -> None:
    """Upsert the binding's row (one statement on both SQLite and PostgreSQL)."""
    row: dict[str, Any] = {"instance": instance, "profile": profile, "status": status,
                           "since": since, "reason": reason, "failures": failures,
                           "checked_at": dt.datetime.now(dt.UTC)}
    stmt = db.insert(availability).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["instance", "profile"],
        set_={k: stmt.excluded[k] for k in ("status", "since", "reason", "failures", "checked_at")},
    )
    with db.engine.begin() as conn:
        conn.execute(stmt)


def recorder(db: Database, instance: str, profile: str) -> Callable[[str, dt.datetime, str | None, int], bool]:
    """A breaker listener writing this binding's row; a database hiccup is logged, not raised
    (availability is a report: it must never fail the call that triggered it)."""

    def listen(status: str, since: dt.datetime, reason: str | None, failures: int) -> bool:
        try:
            write(db, instance, profile, status=status, since=since, reason=reason, failures=failures)
        except SQLAlchemyError as exc:
            log.warning("cannot record availability of %s/%s: %s (retried on the next call)",
                        instance, profile, type(exc).__name__)
            return False
        return True

    return listen


def read(db: Database, instance: str, profile: str) -> Availability | None:
    with db.engine.connect() as conn:
        row = conn.execute(select(availability).where(
            availability.c.instance == instance, availability.c.profile == profile)).first()
    return _row(row._mapping) if row is not None else None


def read_all(db: Database) -> dict[tuple[str, str], Availability]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(availability)).all()
    return {(r.instance, r.profile): _row(r._mapping) for r in rows}


def _row(m: Any) -> Availability:
    return Availability(m["instance"], m["profile"], m["status"], _utc(m["since"]), m["reason"],
                        m["failures"], _utc(m["checked_at"]))


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back; everything raccord writes is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
