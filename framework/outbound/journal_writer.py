"""Outbound journal rows, written in batches off the calling thread.

A call only appends a dict to a queue (about a microsecond); a daemon thread writes
what accumulated every ``interval`` seconds, or as soon as ``batch`` rows wait, in one
transaction. ``flush()`` writes everything now (tests, ``close()``, process exit).
Rows go through :func:`framework.journal.redact_url` when enqueued, so a secret never
sits in memory longer than the call itself.
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
from sqlalchemy.exc import SQLAlchemyError

from framework.journal import redact_url
from framework.storage.db import Database
from framework.storage.schema import journal

log = logging.getLogger("raccord.journal")


class JournalWriter:
    def __init__(self, db: Database, *, interval: float = 0.5, batch: int = 200) -> None:
        self.db = db
        self.interval = interval
        self.batch = batch
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.flush())

    def record(self, *, instance: str, **fields: Any) -> None:
        """Queue one outbound row (``url`` is redacted here)."""
        if fields.get("url"):
            fields["url"] = redact_url(str(fields["url"]))
        self._queue.put({"at": dt.datetime.now(dt.UTC), "direction": "out", "instance": instance,
                         **fields})
        if self._thread is None:
            self._start()
        if self._queue.qsize() >= self.batch:
            self._wake.set()

    def flush(self) -> int:
        """Write every queued row now; return how many were written."""
        rows: list[dict[str, Any]] = []
        with self._write_lock:
            while True:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if rows:
                try:
                    with self.db.engine.begin() as conn:
                        conn.execute(insert(journal), rows)
                except SQLAlchemyError as exc:
                    # The journal is a record, not the call: losing a batch is logged.
                    log.error("lost %d outbound journal rows: %s", len(rows), type(exc).__name__)
                    return 0
        return len(rows)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="raccord-journal",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
