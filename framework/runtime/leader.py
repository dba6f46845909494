"""Exactly one scheduler fires: whoever holds the leadership lock.

PostgreSQL: a session advisory lock on a dedicated connection, so every process on
every machine sharing the database competes for the same lock, and a dead process's
lock vanishes with its connection. SQLite (one machine by nature): a file lock next
to the database file, released by the kernel when its process dies.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout
from sqlalchemy import text

from framework.errors import ConfigError
from framework.storage.db import Database

log = logging.getLogger("raccord.scheduler")
#: The advisory lock key: any constant shared by all raccord schedulers ("raccord" in ASCII).
ADVISORY_KEY = 0x72616363_6F7264


class Leadership(Protocol):
    def acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class AdvisoryLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: Any = None

    def acquire(self) -> bool:
        if self.conn is None:
            self.conn = self.db.engine.connect()
        got = bool(self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar())
        self.conn.commit()  # end the implicit transaction; the session lock stays
        if not got:
            self._close()
        return got

    def still_held(self) -> bool:
        # The lock lives as long as the session: a dead connection means it is gone.
        try:
            self.conn.execute(text("SELECT 1")).scalar()
            self.conn.commit()
        except Exception as exc:
            log.warning("scheduler lost its database session, stepping down: %s", exc)
            self._close()
            return False
        return True

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            self.conn.commit()
        except Exception:  # closing the session releases it anyway
            pass
        self._close()

    def _close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.invalidate()  # never hand a lock-holding session back to the pool
                self.conn.close()
            finally:
                self.conn = None


class FileLeadership:
    def __init__(self, path: Path) -> None:
        self.lock = FileLock(str(path))

    def acquire(self) -> bool:
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        return bool(self.lock.is_locked)

    def release(self) -> None:
        if self.lock.is_locked:
            self.lock.release(force=True)


def leadership_for(db: Database) -> Leadership:
    if db.is_postgres:
        return AdvisoryLock(db)
    database = db.engine.url.database
    if db.is_sqlite and database and database != ":memory:":
        return FileLeadership(Path(database).with_name(Path(database).name + ".scheduler.lock"))
    raise ConfigError(f"the scheduler cannot run on {db.engine.dialect.name} {database or 'in memory'}",
                      hint="use a SQLite file or PostgreSQL")
