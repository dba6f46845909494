"""The per-binding bulkhead: a bounded share of a process's threads, a fast 503 beyond."""

from __future__ import annotations

import threading
import time

import pytest

from framework.errors import Unavailable
from framework.outbound.bulkhead import BURST_WAIT, Bulkhead, default_size


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


def test_a_burst_of_fast_calls_is_served_not_refused() -> None:
    # Found by the load test (bench/load.py): 20 clients on a fast server, 3 calls of one
    # binding in one worker at once, the third refused after 50 ms although the first
    # two were about to end.
    bulkhead = Bulkhead("metz/adresse", 1)
    served = []

    def fast(n: int) -> None:
        with bulkhead.slot():
            time.sleep(0.04)
            served.append(n)

    threads = [threading.Thread(target=fast, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(served) == [0, 1, 2, 3] and bulkhead.refused == 0


def test_holders_waiting_long_are_slow_calls_and_an_extra_one_is_refused_at_once() -> None:
    bulkhead = Bulkhead("metz/tickets", 1)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with bulkhead.slot():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    time.sleep(BURST_WAIT + 0.05)  # the holder is no longer young: a slow call
    started = time.monotonic()
    with pytest.raises(Unavailable, match="is busy"), bulkhead.slot():
        pass
    assert time.monotonic() - started < BURST_WAIT
    release.set()
    thread.join()
