"""Outbound journal rows, written in batches off the calling thread
(see :class:`framework.journal.BatchedJournal`)."""

from __future__ import annotations

import threading

from framework.journal import BatchedJournal
from framework.storage.db import Database


class JournalWriter(BatchedJournal):
    def __init__(self, db: Database, *, interval: float = 0.5, batch: int = 200,
                 write_lock: threading.Lock | None = None) -> None:
        super().__init__(db, "out", interval=interval, batch=batch, write_lock=write_lock)
