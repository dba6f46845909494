"""Retention: journal rows older than ``[runtime] journal_retention_days`` and expired
cache rows are deleted. Run by the maintenance job (see docs/outbound.md)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import delete

from framework.storage.db import Database
from framework.storage.schema import cache, journal

if TYPE_CHECKING:
    from framework.app import Raccord


def purge_journal(db: Database, days: float, *, now: dt.datetime | None = None) -> int:
    """Delete journal rows (in and out) older than ``days``; return how many."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    with db.engine.begin() as conn:
        return int(conn.execute(delete(journal).where(journal.c.at < cutoff)).rowcount or 0)


def purge_cache(db: Database, *, now: dt.datetime | None = None) -> int:
    """Delete expired cache rows; return how many."""
    with db.engine.begin() as conn:
        result = conn.execute(delete(cache).where(cache.c.expires_at < (now or dt.datetime.now(dt.UTC))))
        return int(result.rowcount or 0)


def purge_expired(raccord: Raccord) -> dict[str, int]:
    """The territory-wide maintenance task (once a day is plenty): journal rows older than
    ``[runtime] journal_retention_days`` (default 30) and expired cache rows."""
    days = raccord.outbound.journal_retention_days
    return {"journal": purge_journal(raccord.db, days), "cache": purge_cache(raccord.db)}
