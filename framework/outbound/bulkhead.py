"""A bulkhead per binding: a bounded share of the process's concurrency.

A gateway process serves a few calls at once (gunicorn threads). Without a bound, one
slow business server collects every thread — its callers keep arriving while earlier
calls wait — and every other instance stops answering. Each binding may run at most
``max_concurrency`` calls at once in a process (default: half the process's threads,
at least 1); a call beyond that waits ``BULKHEAD_WAIT`` at most, then gets a fast 503
``raccord.unavailable`` with a retry hint, and the other threads keep serving
everyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from framework.errors import Unavailable

#: How long a call waits for a free slot: long enough to absorb a burst of fast
#: calls, short enough that a full bulkhead answers at once.
BULKHEAD_WAIT = 0.05
RETRY_AFTER = 5  # seconds suggested to the caller


class BulkheadFull(Unavailable):
    """Every slot of the binding is taken by calls waiting on its business server."""

    def __init__(self, message: str, *, hint: str, retry_after: int) -> None:
        super().__init__(message, hint=hint, data={"retry_after": retry_after})
        self.retry_after = retry_after


def default_size(threads: int) -> int:
    """Half the threads of a gateway process, at least one: a slow binding never holds
    more than half of them."""
    return max(1, threads // 2)


class Bulkhead:
    def __init__(self, name: str, size: int, *, wait: float = BULKHEAD_WAIT) -> None:
        self.name = name
        self.size = size
        self.wait = wait
        self._slots = threading.BoundedSemaphore(size)
        self.refused = 0  # calls turned away (for tests and diagnostics)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait):
            self.refused += 1
            raise BulkheadFull(
                f"{self.name} is busy: {self.size} call(s) already wait for its business server",
                hint=f"retry in {RETRY_AFTER} s; the server is slow to answer (the binding's "
                     "max_concurrency setting bounds the calls it may hold)",
                retry_after=RETRY_AFTER)
        try:
            yield
        finally:
            self._slots.release()
