"""Outbound journal rows, written in batches off the calling thread
(see :class:`framework.journal.BatchedJournal`)."""

from __future__ import annotations

from framework.journal import MAX_QUEUED, BatchedJournal
from framework.storage.db import Database


class JournalWriter(BatchedJournal):
    def __init__(self, db: Database, *, interval: float = 0.5, batch: int = 200,
                 max_queued: int = MAX_QUEUED) -> None:
        super().__init__(db, "out", interval=interval, batch=batch, max_queued=max_queued)
