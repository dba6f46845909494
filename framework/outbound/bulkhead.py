"""A bulkhead per binding: a bounded share of the process's concurrency.

A gateway process serves a few calls at once (gunicorn threads). Without a bound, one
slow business server collects every thread — its callers keep arriving while earlier
calls wait — and every other instance stops answering. Each binding may run at most
``max_concurrency`` calls at once in a process (default: half the process's threads,
at least 1); a call beyond that waits ``BULKHEAD_WAIT`` at most, then gets a fast 503
``raccord.unavailable`` with a retry hint, and the other threads keep serving
everyone else.

A burst of fast calls is not a slow server: when a slot holder started less than
``BURST_WAIT`` ago, the call waits that much more for it (the load test,
bench/load.py, saw 20 clients on a fast BAN refused without it). Holders that have
been waiting longer are slow calls: the extra caller is refused at ``BULKHEAD_WAIT``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from framework.errors import Unavailable

#: How long a call waits for a free slot: long enough to absorb a burst of fast
#: calls, short enough that a full bulkhead answers at once.
BULKHEAD_WAIT = 0.05
#: How much longer it waits when a holder is young (a fast call in a burst).
BURST_WAIT = 0.25
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
        self._held: dict[int, float] = {}  # ticket → when its holder got the slot
        self._tickets = itertools.count()
        self.refused = 0  # calls turned away (for tests and diagnostics)

    def _burst(self) -> bool:
        """Whether a holder got its slot less than BURST_WAIT ago (it is likely fast)."""
        now = time.monotonic()
        return any(now - since < BURST_WAIT for since in list(self._held.values()))

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait) and not (
                self._burst() and self._slots.acquire(timeout=BURST_WAIT)):
            self.refused += 1
            raise BulkheadFull(
                f"{self.name} is busy: {self.size} call(s) already wait for its business server",
                hint=f"retry in {RETRY_AFTER} s; the server is slow to answer (the binding's "
                     "max_concurrency setting bounds the calls it may hold)",
                retry_after=RETRY_AFTER)
        ticket = next(self._tickets)
        self._held[ticket] = time.monotonic()
        try:
            yield
        finally:
            del self._held[ticket]
            self._slots.release()
