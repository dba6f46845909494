"""Inbound journal rows, written in batches off the request thread.

One synchronous insert per call cost ~170 µs of SQLAlchemy and SQLite work in the
answer's critical path (measured, docs/benchmarks/gateway.md); the call now only
queues a dict. A daemon thread per process writes what accumulated every
``interval`` seconds (or at ``batch`` rows) in one transaction; ``flush()`` writes
now (tests, shutdown, process exit). Rows are exactly what
:func:`framework.journal.record` writes: same table, URL redacted by
:func:`framework.journal.redact_url` when queued, so no secret waits in memory.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import queue
import threading
import weakref
from typing import Any

from sqlalchemy import insert

from framework.journal import redact_url
from framework.storage.db import Database
from framework.storage.schema import journal

log = logging.getLogger("raccord.gateway.journal")


class InboundJournal:
    def __init__(self, db: Database, *, interval: float = 0.2, batch: int = 500,
                 write_lock: threading.Lock | None = None) -> None:
        self.db = db
        self._db_lock = write_lock or threading.Lock()
        self.interval = interval
        self.batch = batch
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.flush())

    def record(self, *, instance: str, **fields: Any) -> None:
        if fields.get("url"):
            fields["url"] = redact_url(str(fields["url"]))
        self._queue.put({"at": dt.datetime.now(dt.UTC), "direction": "in", "instance": instance, **fields})
        if self._thread is None:
            self._start()
        elif self._queue.qsize() >= self.batch:
            self._wake.set()

    def _start(self) -> None:
        # Started on first use, so in each gunicorn worker after the fork, not in the master.
        with self._start_lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="raccord-journal-in", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write every queued row now; return how many."""
        with self._write_lock:
            rows: list[dict[str, Any]] = []
            while True:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not rows:
                return 0
            try:
                with self._db_lock, self.db.engine.begin() as conn:
                    conn.execute(insert(journal), rows)
            except Exception as exc:  # the journal is a record, not the call: say what was lost
                log.error("lost %d inbound journal rows: %s: %s", len(rows), type(exc).__name__, exc)
                return 0
            return len(rows)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
