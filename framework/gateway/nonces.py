"""The nonce store: Publik signature nonces seen recently, in the ``nonces`` table, so
that a replay is refused by every process and machine sharing the database.

A nonce is kept ``2 × window`` seconds after it was seen: a request is only accepted
within ±window of its timestamp, so no replay can be valid later. Expired rows are
deleted at most once a minute per process, off the common path.

The insert is the one statement of a signed call, so it runs on a connection of its
own per thread, in autocommit, outside SQLAlchemy (whose pool checkout, BEGIN and
COMMIT cost more than the database's own work), and shares nothing with the journal
writers (no lock, no connection): a journal flush never holds it up.

- PostgreSQL: a prepared ``INSERT … ON CONFLICT DO NOTHING``, one round trip; no row
  inserted means the nonce was seen (by any machine). A connection the server closed
  while idle (restart, failover) is noticed before use and replaced.
- SQLite: a table in shared memory beside the database file
  (framework.gateway.nonce_table) decides at once, for every process of every gateway
  on that file; accepted nonces reach the ``nonces`` table in batches every
  :data:`FLUSH_EVERY` seconds (:class:`WriteBehind`, off the calls' threads, which also
  deletes the expired ones; a stopping worker writes what waits). The table is a file:
  a killed process loses none of it. One found missing, damaged or replaced is rebuilt
  from the ``nonces`` rows (then only a ``kill -9`` in the last :data:`FLUSH_EVERY`
  seconds before the file's loss could let a replay through).
- SQLite in memory (``:memory:``, one process) inserts each nonce. SQLite has a single
  writer; its default busy handler sleeps 1, 2, 5, 10… ms when the file is locked, so
  the store writes with ``busy_timeout = 0`` and retries a locked write itself after
  0.05–1 ms of jittered back-off, its threads taking turns on a lock of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import random
import select
import sqlite3
import threading
import time
import weakref
from collections import deque
from functools import partial
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event
from sqlalchemy.exc import OperationalError

from framework.errors import Unauthorized, Unavailable
from framework.gateway.nonce_table import Claim, NonceTable, shared_table
from framework.storage.db import Database
from framework.storage.schema import nonces

_SQLITE_INSERT = "INSERT INTO nonces (orig, nonce, seen_at) VALUES (?, ?, ?)"
_SQLITE_KEEP = "INSERT OR IGNORE INTO nonces (orig, nonce, seen_at) VALUES (?, ?, ?)"
_PG_INSERT = "INSERT INTO nonces (orig, nonce, seen_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
_REPLAYED = "signature check failed: nonce already used (replayed request)"
MAX_WAIT = 5.0  # seconds a nonce write may wait for the database before a 503
#: Seconds between two batches of nonces written behind the table. The table file is the
#: live record (a killed process loses none of it); the rows are for rebuilding a table
#: file that is lost, so a batch a second is plenty, and costs one transaction a second.
FLUSH_EVERY = 1.0
MAX_BEHIND = 100_000  # nonces waiting for the database; past that the oldest are dropped


class NonceStore:
    CLEANUP_EVERY = 60.0

    def __init__(self, db: Database, window: int) -> None:
        self.db = db
        self.keep = dt.timedelta(seconds=2 * window)
        path = db.engine.url.database or ""
        self.table: NonceTable | None = None
        if db.is_sqlite and path and path != ":memory:" and not path.startswith("file:"):
            self.table = shared_table(f"{path}-nonces", partial(recent_nonces, path, window))
        self.behind = WriteBehind(db, self.keep) if self.table is not None else None
        self._next_cleanup = 0.0
        self._cleanup_lock = threading.Lock()
        # SQLite: this store's threads take turns (a lock of its own, shared with nothing).
        self._sqlite_turn = threading.Lock()
        self._engine: Engine = _fail_fast_engine(db) if db.is_sqlite else db.engine
        self._local = threading.local()
        self._conns_lock = threading.Lock()
        self._conns: list[Any] = []

    def remember(self, orig: str, nonce: str) -> None:
        """Record ``nonce`` for ``orig``; raise Unauthorized if it was already seen."""
        now = dt.datetime.now(dt.UTC)
        if self.db.is_sqlite:
            self.db.check_file()  # a deleted file would forget every nonce: refuse (503)
            if self._claimed(orig, nonce, now):
                return  # expired rows are deleted by the write-behind thread
            self._write_sqlite(orig, nonce, now)
        else:
            self._write_postgres(orig, nonce, now)
        self._maybe_cleanup(now)

    def _claimed(self, orig: str, nonce: str, now: dt.datetime) -> bool:
        """Whether the shared table decided (raises on a replay); False: ask the database."""
        if self.table is None or self.behind is None:
            return False
        at = now.timestamp()
        claim = self.table.claim(orig, nonce, at, at + self.keep.total_seconds())
        if claim is Claim.SEEN:
            raise Unauthorized(_REPLAYED)
        if claim is Claim.FULL:
            # Not a guess either way: the table is far past half full (far more signed
            # calls than it was sized for, nonce_table.DEFAULT_SLOTS).
            raise Unavailable("too many signed calls at once to check their nonces; retry in a moment")
        self.behind.add((orig, nonce, now))
        return True

    def _write_postgres(self, orig: str, nonce: str, now: dt.datetime) -> None:
        conn = self._pg()
        try:
            inserted = conn.execute(_PG_INSERT, (orig, nonce, now), prepare=True).rowcount
        except BaseException:
            self._discard(conn)  # broken or mid-error: the next call opens a fresh one
            raise
        if inserted == 0:
            raise Unauthorized(_REPLAYED)

    def _pg(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and (self._local.pid != os.getpid() or not _idle_and_open(conn)):
            self._discard(conn)
            conn = None
        if conn is None:
            # The engine's own connect arguments (timeouts, statement_timeout), detached
            # from its pool: held by this thread for good, not taken from the calls' pool.
            proxied = self.db.engine.raw_connection()
            proxied.detach()
            conn = proxied.dbapi_connection
            assert conn is not None
            conn.rollback()  # the pool's ping may have opened a transaction
            conn.autocommit = True
            self._keep(conn)
        return conn

    def _write_sqlite(self, orig: str, nonce: str, now: dt.datetime) -> None:
        # seen_at is written in the format SQLAlchemy's DateTime uses there
        # ("%Y-%m-%d %H:%M:%S.%f"; isoformat is 2× faster than strftime).
        row = (orig, nonce, _sqlite_time(now))
        deadline = time.monotonic() + MAX_WAIT
        delay = 0.0001
        while True:
            try:
                with self._sqlite_turn:
                    self._sqlite().execute(_SQLITE_INSERT, row)
                return
            except sqlite3.IntegrityError:
                raise Unauthorized(_REPLAYED) from None
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise Unavailable("the nonce store is busy; retry in a moment") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.001)

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            path = self.db.engine.url.database or ""
            conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._keep(conn)
        return conn

    def _keep(self, conn: Any) -> None:
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._conns_lock:
            self._conns.append(conn)

    def _discard(self, conn: Any) -> None:
        self._local.conn = None
        with self._conns_lock:
            if conn in self._conns:
                self._conns.remove(conn)
        with contextlib.suppress(Exception):  # already broken: nothing to release
            conn.close()

    def cleanup(self, now: dt.datetime | None = None) -> int:
        """Delete expired nonces; return how many."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - self.keep
        result = self._write(lambda conn: conn.execute(delete(nonces).where(nonces.c.seen_at < cutoff)))
        return int(result.rowcount or 0)

    def close(self) -> None:
        if self.behind is not None:
            self.behind.close()
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        if self._engine is not self.db.engine:
            self._engine.dispose()

    def _write(self, statement: Any) -> Any:
        deadline = time.monotonic() + MAX_WAIT
        delay = 0.0001
        while True:
            try:
                with self._engine.begin() as conn:
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


def _sqlite_time(now: dt.datetime) -> str:
    # The format SQLAlchemy's DateTime uses on SQLite ("%Y-%m-%d %H:%M:%S.%f", naive
    # UTC); isoformat is 2× faster than strftime.
    return now.isoformat(" ", "microseconds")[:26]


class WriteBehind:
    """Nonces the shared table accepted, written to the ``nonces`` table in batches by a
    thread of this process (started on first use: after the fork), on a connection of
    its own that waits for the file lock as long as it must (no call waits for it).
    A batch that fails (database locked, unwritable) is kept and retried; past
    :data:`MAX_BEHIND` waiting nonces the oldest are dropped, and counted: the table
    still refuses them while the gateway runs, only a restart would forget them."""

    def __init__(self, db: Database, keep: dt.timedelta) -> None:
        self.path = db.engine.url.database or ""
        self.keep = keep
        self.dropped = 0
        self._next_cleanup = 0.0
        self._rows: deque[tuple[str, str, dt.datetime]] = deque()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        # A stopping worker (SIGTERM, recycling) writes what waits, as the journal does.
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.flush())

    def add(self, row: tuple[str, str, dt.datetime]) -> None:
        if len(self._rows) >= MAX_BEHIND:
            self._rows.popleft()
            self.dropped += 1
        self._rows.append(row)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="raccord-nonces", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._closed.wait(FLUSH_EVERY)
            if self._rows and not self.flush():
                self._closed.wait(0.5)  # the database refused: try again in a moment
            elif time.monotonic() >= self._next_cleanup:
                self._next_cleanup = time.monotonic() + NonceStore.CLEANUP_EVERY
                self.cleanup()

    def cleanup(self) -> None:
        """Delete the expired nonces (here, off the calls' threads; a failure waits for
        the next round)."""
        cutoff = _sqlite_time(dt.datetime.now(dt.UTC) - self.keep)
        with self._flush_lock:
            try:
                with self._connection() as conn:
                    conn.execute("DELETE FROM nonces WHERE seen_at < ?", (cutoff,))
            except sqlite3.Error:
                self._drop_connection()

    def flush(self) -> bool:
        """Write what waits, now; False if the database refused (the rows are kept)."""
        with self._flush_lock:
            rows = [self._rows.popleft() for _ in range(len(self._rows))]
            if not rows:
                return True
            try:
                conn = self._connection()
                with conn:  # one transaction
                    conn.executemany(_SQLITE_KEEP, [(o, n, _sqlite_time(at)) for o, n, at in rows])
                return True
            except sqlite3.Error:
                self._rows.extendleft(reversed(rows))
                self._drop_connection()
                return False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, timeout=MAX_WAIT, check_same_thread=False)
            self._conn.execute("PRAGMA synchronous=NORMAL")
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(2 * MAX_WAIT)
        self.flush()
        self._drop_connection()


def recent_nonces(path: str, window: int, now: dt.datetime | None = None) -> list[tuple[str, str, float]]:
    """The nonces of the last 2 × ``window`` seconds in the (migrated) SQLite file at
    ``path``, as (orig, nonce, until) for :meth:`NonceTable.load`: a starting gateway
    remembers what it saw before."""
    keep = 2 * window
    at = now or dt.datetime.now(dt.UTC)
    cutoff = _sqlite_time(at - dt.timedelta(seconds=keep))
    conn = sqlite3.connect(path, timeout=MAX_WAIT)
    try:
        found = conn.execute("SELECT orig, nonce, seen_at FROM nonces WHERE seen_at >= ?", (cutoff,)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        found = []  # a database not migrated yet has seen no nonce
    finally:
        conn.close()
    rows = []
    for orig, nonce, seen in found:
        seen_at = dt.datetime.fromisoformat(str(seen)).replace(tzinfo=dt.UTC)
        rows.append((str(orig), str(nonce), seen_at.timestamp() + keep))
    return rows


def _fail_fast_engine(db: Database) -> Engine:
    engine = create_engine(db.engine.url, connect_args={"timeout": 0, "check_same_thread": False})
    event.listen(engine, "connect", _pragmas)
    return engine


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=0")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _idle_and_open(conn: Any) -> bool:
    """Is this autocommit PostgreSQL connection usable without a round trip? An idle
    connection has nothing to read: data waiting (or EOF) means the server is closing
    it (restart, failover, idle timeout), which the pool's pre-ping would have caught."""
    if conn.closed or conn.broken:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
