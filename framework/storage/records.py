"""Referential data a connector keeps per binding: streets, CSV rows, …

Each binding sees only its own rows (instance and profile are part of every key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, insert, select

from framework.storage.db import Database
from framework.storage.schema import records
from framework.text import fold


class RecordStore:
    def __init__(self, db: Database, instance: str, profile: str) -> None:
        self.db = db
        self.instance = instance
        self.profile = profile

    def _scope(self, collection: str) -> Any:
        return and_(
            records.c.instance == self.instance,
            records.c.profile == self.profile,
            records.c.collection == collection,
        )

    def _rows(self, collection: str, items: Iterable[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Table rows for ``(key, text, data)`` items; the last item of a key wins."""
        now = dt.datetime.now(dt.UTC)
        rows = {
            key: {"instance": self.instance, "profile": self.profile, "collection": collection,
                  "key": key, "text": fold(text), "data": data, "updated_at": now}
            for key, text, data in items
        }
        return list(rows.values())

    def replace(self, collection: str, items: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        """Atomically replace a collection with ``(key, text, data)`` items."""
        rows = self._rows(collection, items)
        with self.db.engine.begin() as conn:
            conn.execute(delete(records).where(self._scope(collection)))
            if rows:
                conn.execute(insert(records), rows)
        return len(rows)

    def put(self, collection: str, items: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        """Insert or update ``(key, text, data)`` items, keeping the rest of the collection."""
        rows = self._rows(collection, items)
        if not rows:
            return 0
        stmt = self.db.insert(records)
        stmt = stmt.on_conflict_do_update(
            index_elements=[records.c.instance, records.c.profile, records.c.collection, records.c.key],
            set_={"text": stmt.excluded.text, "data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
        )
        with self.db.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(records.c.data).where(self._scope(collection), records.c.key == key)
            ).first()
        return dict(row[0]) if row else None

    def search(self, collection: str, q: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows whose text contains every word of ``q`` (accent- and case-insensitive)."""
        stmt = select(records.c.data).where(self._scope(collection))
        for word in fold(q or "").split():
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(records.c.text.like(f"%{escaped}%", escape="\\"))
        stmt = stmt.order_by(records.c.text, records.c.key)
        if limit:
            stmt = stmt.limit(limit)
        with self.db.engine.connect() as conn:
            return [dict(r[0]) for r in conn.execute(stmt)]

    def count(self, collection: str) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(self._scope(collection))).scalar_one())

    def updated_at(self, collection: str) -> dt.datetime | None:
        with self.db.engine.connect() as conn:
            value = conn.execute(select(func.max(records.c.updated_at)).where(self._scope(collection))).scalar()
        return value if isinstance(value, dt.datetime) else None
