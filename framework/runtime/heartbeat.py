"""Heartbeats of the background roles, in the database so every gateway worker (and
every machine) sees them.

``raccord serve`` names itself (``RACCORD_SERVE_ID``: host and master pid) and says
which roles it runs in the background (``RACCORD_EXPECTED_ROLES``); its background
process writes one heartbeat per running role every :data:`INTERVAL` seconds, and
``/readyz`` answers 503 when an expected role of *its own* serve has no fresh
heartbeat (job workers or scheduler dead, or restarting). The supervisor also records
how often it restarted the background process (``supervisor`` collection): the
``status`` page and metrics read it with :func:`supervisor_stats`.

Rows live in the records table under the reserved binding ``("", "raccord")`` (no
instance can be named ""), so no migration is needed.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterable
from typing import Any

from framework.runtime.txn import utcnow
from framework.storage.db import Database
from framework.storage.records import RecordStore

SERVE_ID_ENV = "RACCORD_SERVE_ID"
EXPECTED_ENV = "RACCORD_EXPECTED_ROLES"
INTERVAL = 2.0  # seconds between beats
STALE_AFTER = 3 * INTERVAL  # a role without a beat this long is not running


def serve_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _store(db: Database) -> RecordStore:
    return RecordStore(db, "", "raccord")


def beat(db: Database, ident: str, roles: Iterable[str]) -> None:
    """Record that ``roles`` of the serve ``ident`` are running now."""
    now = utcnow().isoformat()
    _store(db).put("heartbeats", [(f"{ident}/{role}", role, {"at": now, "pid": os.getpid(), "role": role})
                                  for role in roles])


def stopped(db: Database, ident: str, roles: Iterable[str]) -> None:
    """Mark ``roles`` as not running (the background process died or stopped)."""
    _store(db).put("heartbeats", [(f"{ident}/{role}", role, {"at": None, "role": role}) for role in roles])


def missing(db: Database, ident: str, roles: Iterable[str], now: dt.datetime | None = None) -> list[str]:
    """The roles among ``roles`` with no fresh heartbeat from serve ``ident``."""
    now = now or utcnow()
    store, late = _store(db), []
    for role in sorted(roles):
        row = store.get("heartbeats", f"{ident}/{role}")
        at = row.get("at") if row else None
        if not at or (now - dt.datetime.fromisoformat(at)).total_seconds() > STALE_AFTER:
            late.append(role)
    return late


def expected_roles() -> tuple[str, set[str]]:
    """This process's serve id and the roles its background process should run."""
    roles = {r for r in os.environ.get(EXPECTED_ENV, "").split(",") if r}
    return os.environ.get(SERVE_ID_ENV, ""), roles


def record_restart(db: Database, ident: str, restarts: int, exit_status: str) -> None:
    _store(db).put("supervisor", [(ident, "", {"restarts": restarts, "last_exit": exit_status,
                                               "at": utcnow().isoformat()})])


def supervisor_stats(db: Database) -> dict[str, dict[str, Any]]:
    """Per serve id: background restarts so far, the last exit status and when."""
    return {str(row.get("serve")): row for row in _rows(db, "supervisor")}


def _rows(db: Database, collection: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from framework.storage.schema import records

    with db.engine.connect() as conn:
        rows = conn.execute(select(records.c.key, records.c.data).where(
            records.c.instance == "", records.c.profile == "raccord", records.c.collection == collection))
        return [{"serve": key, **dict(data)} for key, data in rows]
