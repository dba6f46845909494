"""The nonce store: Publik signature nonces seen recently, in the ``nonces`` table, so
that a replay is refused by every process and machine sharing the database.

A nonce is kept ``2 × window`` seconds after it was seen: a request is only accepted
within ±window of its timestamp, so no replay can be valid later. Expired rows are
deleted at most once a minute per process, off the common path.

SQLite has a single writer. Its default busy handler sleeps 1, 2, 5, 10… ms when the
file is locked by another process — long enough to halve the signed-call throughput
of two gunicorn workers (measured, docs/benchmarks/gateway.md). On SQLite the store
therefore writes through its own small engine with ``busy_timeout = 0`` and retries
a locked write itself after 0.1–1 ms of jittered back-off; the threads of one process
queue on a lock shared with the inbound journal instead of racing on the file lock.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert
from sqlalchemy.exc import IntegrityError, OperationalError

from framework.errors import Unauthorized, Unavailable
from framework.storage.db import Database
from framework.storage.schema import nonces

_SQLITE_INSERT = "INSERT INTO nonces (orig, nonce, seen_at) VALUES (?, ?, ?)"
MAX_WAIT = 5.0  # seconds a nonce write may wait for the database before a 503


class NonceStore:
    CLEANUP_EVERY = 60.0

    def __init__(self, db: Database, window: int, write_lock: threading.Lock | None = None) -> None:
        self.db = db
        self.keep = dt.timedelta(seconds=2 * window)
        self._next_cleanup = 0.0
        self._cleanup_lock = threading.Lock()
        # Only SQLite needs writes serialised (the gateway passes a lock for it).
        self._write_lock: AbstractContextManager[Any] = write_lock or nullcontext()
        self._engine: Engine = _fail_fast_engine(db) if db.is_sqlite else db.engine
        self._local = threading.local()
        self._raw_lock = threading.Lock()
        self._raw_conns: list[sqlite3.Connection] = []

    def remember(self, orig: str, nonce: str) -> None:
        """Record ``nonce`` for ``orig``; raise Unauthorized if it was already seen."""
        now = dt.datetime.now(dt.UTC)
        try:
            if self.db.is_sqlite:
                self.db.check_file()  # a deleted file would forget every nonce: refuse (503)
                self._write_sqlite(orig, nonce, now)
            else:
                self._write(lambda conn: conn.execute(insert(nonces),
                                                      {"orig": orig, "nonce": nonce, "seen_at": now}))
        except IntegrityError:
            raise Unauthorized("signature check failed: nonce already used (replayed request)") from None
        self._maybe_cleanup(now)

    def _write_sqlite(self, orig: str, nonce: str, now: dt.datetime) -> None:
        # The one statement of a signed call, on SQLite through a per-thread driver
        # connection in autocommit mode: SQLAlchemy's pool checkout, BEGIN and COMMIT
        # cost more than SQLite's own work (~85 µs against ~30 µs, measured).
        # seen_at is written in the format SQLAlchemy's DateTime uses there.
        row = (orig, nonce, now.strftime("%Y-%m-%d %H:%M:%S.%f"))
        deadline = time.monotonic() + MAX_WAIT
        delay = 0.0001
        while True:
            try:
                with self._write_lock:
                    self._raw().execute(_SQLITE_INSERT, row)
                return
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(_SQLITE_INSERT, None, exc) from None
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise Unavailable("the nonce store is busy; retry in a moment") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.001)

    def _raw(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.db.engine.url.database or ""
            conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._raw_lock:
                self._raw_conns.append(conn)
        return conn

    def cleanup(self, now: dt.datetime | None = None) -> int:
        """Delete expired nonces; return how many."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - self.keep
        result = self._write(lambda conn: conn.execute(delete(nonces).where(nonces.c.seen_at < cutoff)))
        return int(result.rowcount or 0)

    def close(self) -> None:
        with self._raw_lock:
            for conn in self._raw_conns:
                conn.close()
            self._raw_conns.clear()
        if self._engine is not self.db.engine:
            self._engine.dispose()

    def _write(self, statement: Any) -> Any:
        deadline = time.monotonic() + MAX_WAIT
        delay = 0.0001
        while True:
            try:
                with self._write_lock, self._engine.begin() as conn:
                    return statement(conn)
            except OperationalError as exc:
                if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                    raise
                if time.monotonic() > deadline:
                    raise Unavailable("the nonce store is busy; retry in a moment") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.001)

    def _maybe_cleanup(self, now: dt.datetime) -> None:
        mono = time.monotonic()
        if mono < self._next_cleanup or not self._cleanup_lock.acquire(blocking=False):
            return
        try:
            self._next_cleanup = mono + self.CLEANUP_EVERY
            self.cleanup(now)
        finally:
            self._cleanup_lock.release()


def _fail_fast_engine(db: Database) -> Engine:
    engine = create_engine(db.engine.url, connect_args={"timeout": 0, "check_same_thread": False})
    event.listen(engine, "connect", _pragmas)
    return engine


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=0")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
