"""Appending many rows to a table through the raw driver: ``executemany`` on SQLite,
``COPY … FROM STDIN`` on PostgreSQL.

For the background writers of append-only tables (the journal): SQLAlchemy's
``conn.execute(insert(table), rows)`` compiles the statement and runs every value
through its type processors in Python, ~9 µs a row (a 200-row flush took 1.8 ms,
holding the GIL and, on SQLite, the file's write lock). Here the rows are tuples in
``columns`` order, converted only where the driver needs it (SQLite datetimes, written
in the format SQLAlchemy's ``DateTime`` reads back). The connection is the engine's
own, checked out once per :class:`Appender` and returned to its pool: the same
timeouts, the same SQLite file check at checkout, invalidated on error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import DateTime, Table

from framework.storage.db import Database

#: How SQLAlchemy's DateTime stores values on SQLite (naive, here UTC).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


class Appender:
    """Rows appended to ``table``, one transaction per :meth:`append`; use as a context
    manager (the connection goes back to the pool on exit)."""

    def __init__(self, db: Database, table: Table, columns: Sequence[str]) -> None:
        self.db = db
        self.columns = tuple(columns)
        self._conn: Any = None
        names = ", ".join(f'"{name}"' for name in self.columns)
        if db.is_postgres:
            self._sql = f'COPY "{table.name}" ({names}) FROM STDIN'
        else:
            self._sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(self.columns))})'
        # SQLite: datetimes become SQLAlchemy's text format (sqlite3's own adapter is deprecated).
        self._datetimes = [i for i, name in enumerate(self.columns)
                           if db.is_sqlite and isinstance(table.c[name].type, DateTime)]

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def append(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write ``rows`` in one transaction (all or none)."""
        if not rows:
            return
        if self._conn is None:
            self._conn = self.db.engine.raw_connection()
        conn = self._conn
        try:
            cursor = conn.cursor()
            try:
                if self.db.is_postgres:
                    with cursor.copy(self._sql) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(self._sql, self._sqlite_rows(rows) if self._datetimes else rows)
            finally:
                cursor.close()
            conn.commit()
        except BaseException:
            self._conn = None
            conn.invalidate()  # whatever state it is in, never reused
            raise

    def _sqlite_rows(self, rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
        out = []
        for row in rows:
            values = list(row)
            for i in self._datetimes:
                value = values[i]
                if isinstance(value, dt.datetime):
                    if value.tzinfo is not None:
                        value = value.astimezone(dt.UTC).replace(tzinfo=None)
                    values[i] = value.strftime(SQLITE_DATETIME)
            out.append(values)
        return out
