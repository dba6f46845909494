"""Write transactions that are safe between processes on both databases.

SQLite in WAL mode lets a deferred transaction read first and fail to upgrade to a
writer (``database is locked`` without waiting) when another process wrote in
between. ``BEGIN IMMEDIATE`` takes the write lock up front, and ``busy_timeout``
then makes concurrent writers queue instead of failing. PostgreSQL needs nothing
special: row locks (``FOR UPDATE SKIP LOCKED``) do the work there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from framework.storage.db import Database


@contextmanager
def write_tx(db: Database) -> Iterator[Connection]:
    """A connection inside one write transaction, committed on success."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
