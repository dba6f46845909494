"""The per-binding bulkhead: a bounded share of a process's threads, a fast 503 beyond."""

from __future__ import annotations

import threading
import time

import pytest

from framework.errors import Unavailable
from framework.outbound.bulkhead import Bulkhead, default_size


def test_default_size_is_half_the_threads_at_least_one() -> None:
    assert [default_size(n) for n in (1, 2, 4, 8)] == [1, 1, 2, 4]


def test_a_full_bulkhead_refuses_fast_with_a_retry_hint() -> None:
    bulkhead = Bulkhead("metz/tickets", 2)
    held, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with bulkhead.slot():
            held.wait()
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    held.wait()
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"metz/tickets is busy: 2 call\(s\) already wait") as info, \
            bulkhead.slot():
        pass
    assert time.monotonic() - started < 0.5
    assert info.value.status == 503 and info.value.data == {"retry_after": 5}
    assert "retry in 5 s" in (info.value.hint or "")
    release.set()
    for t in threads:
        t.join()
    with bulkhead.slot():  # slots come back once the slow calls end
        pass
    assert bulkhead.refused == 1
