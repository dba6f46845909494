"""Inbound journal rows, written in batches off the request thread
(see :class:`framework.journal.BatchedJournal`): same table and redaction as
:func:`framework.journal.record`, without an insert in the answer's critical path."""

from __future__ import annotations

from framework.journal import MAX_QUEUED, BatchedJournal
from framework.storage.db import Database


class InboundJournal(BatchedJournal):
    def __init__(self, db: Database, *, interval: float = 0.2, batch: int = 500,
                 max_queued: int = MAX_QUEUED) -> None:
        super().__init__(db, "in", interval=interval, batch=batch, max_queued=max_queued)
