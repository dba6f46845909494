"""Cached endpoint answers, per binding, for endpoints that declare ``cache_seconds``.

The key is (instance, profile, endpoint, normalised parameters and path): two
instances never see each other's answers, even for the same connector and query.
Answers live in a small in-process LRU (fast) and in the ``cache`` table (shared by
the gateway's processes and machines). Only successful GET answers are cached; an
answer that is not JSON is served but not cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from framework.storage.db import Database
from framework.storage.schema import cache

log = logging.getLogger("raccord.cache")


def cache_key(endpoint: str, params: Mapping[str, Any], path: str = "",
              user: Mapping[str, str] | None = None) -> str:
    """``endpoint:<sha256>`` of the parameters in a stable order (fits in 255 chars).

    The acting user is part of the key: an answer that depends on who asks (their
    requests, their invoices) is never served to someone else."""
    normal = json.dumps([path, sorted((str(k), v) for k, v in params.items() if v is not None),
                         sorted((user or {}).items())],
                        sort_keys=True, default=str, ensure_ascii=False)
    return f"{endpoint[:180]}:{hashlib.sha256(normal.encode()).hexdigest()}"


class ResponseCache:
    def __init__(self, db: Database, *, max_entries: int = 2048) -> None:
        self.db = db
        self.max_entries = max_entries
        # (instance, profile, key) → (expires at, monotonic; JSON text). Text, not the
        # object, so a caller mutating its answer cannot change the next caller's.
        self._lru: OrderedDict[tuple[str, str, str], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_call(self, instance: str, profile: str, key: str, seconds: float,
                    produce: Callable[[], Any]) -> Any:
        found = self._get(instance, profile, key)
        if found is not None:
            self.hits += 1
            return json.loads(found)
        self.misses += 1
        data = produce()
        try:
            text = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError):
            return data  # not JSON: served, never cached
        self._put(instance, profile, key, seconds, text)
        return data

    def _get(self, instance: str, profile: str, key: str) -> str | None:
        lkey = (instance, profile, key)
        with self._lock:
            entry = self._lru.get(lkey)
            if entry is not None:
                if entry[0] > time.monotonic():
                    self._lru.move_to_end(lkey)
                    return entry[1]
                del self._lru[lkey]
        now = dt.datetime.now(dt.UTC)
        try:
            with self.db.engine.connect() as conn:
                row = conn.execute(select(cache.c.expires_at, cache.c.data).where(
                    cache.c.instance == instance, cache.c.profile == profile,
                    cache.c.key == key)).first()
        except SQLAlchemyError as exc:
            log.warning("cache read failed: %s", type(exc).__name__)
            return None
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
        if expires <= now:
            return None
        text = json.dumps(row.data, ensure_ascii=False)
        self._remember(lkey, time.monotonic() + (expires - now).total_seconds(), text)
        return text

    def _put(self, instance: str, profile: str, key: str, seconds: float, text: str) -> None:
        self._remember((instance, profile, key), time.monotonic() + seconds, text)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        row = {"instance": instance, "profile": profile, "key": key, "expires_at": expires,
               "data": json.loads(text)}
        stmt = self.db.insert(cache).values(row)
        stmt = stmt.on_conflict_do_update(index_elements=["instance", "profile", "key"],
                                          set_={"expires_at": stmt.excluded.expires_at,
                                                "data": stmt.excluded.data})
        try:
            with self.db.engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            log.warning("cache write failed: %s", type(exc).__name__)

    def _remember(self, lkey: tuple[str, str, str], expires: float, text: str) -> None:
        with self._lock:
            self._lru[lkey] = (expires, text)
            self._lru.move_to_end(lkey)
            while len(self._lru) > self.max_entries:
                self._lru.popitem(last=False)

    def clear(self, instance: str | None = None) -> None:
        """Forget cached answers (of one instance, or all)."""
        with self._lock:
            for lkey in [k for k in self._lru if instance is None or k[0] == instance]:
                del self._lru[lkey]
        stmt = delete(cache) if instance is None else delete(cache).where(cache.c.instance == instance)
        with self.db.engine.begin() as conn:
            conn.execute(stmt)
