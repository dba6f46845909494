"""HandOff: a thread lingers for a kept-alive connection's next request only while no
other connection needs a thread, and is woken as soon as one does (socket pairs, no server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from framework.gateway.handoff import HandOff


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def handoff() -> Iterator[HandOff]:
    h = HandOff(threads=2)
    yield h
    h.close()


def take(h: HandOff) -> None:
    """One connection submitted to the pool and taken by a thread."""
    h.queued()
    h.started()


def linger_in_thread(h: HandOff, sock: socket.socket, timeout: float) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        t0 = time.monotonic()
        out.append(h.linger(sock, timeout))
        out.append(time.monotonic() - t0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_request_already_there_is_served_at_once(handoff: HandOff, pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    t0 = time.monotonic()
    assert handoff.linger(server, 5.0)
    assert time.monotonic() - t0 < 1.0


def test_a_request_arriving_during_the_linger_is_served(handoff: HandOff,
                                                        pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)
    thread, out = linger_in_thread(handoff, server, 5.0)
    time.sleep(0.05)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    thread.join(5)
    assert out[0] is True and out[1] < 1.0  # type: ignore[operator]


def test_an_idle_connection_goes_back_after_the_linger(handoff: HandOff,
                                                       pair: tuple[socket.socket, socket.socket]) -> None:
    server, _ = pair
    take(handoff)
    t0 = time.monotonic()
    assert not handoff.linger(server, 0.05)
    assert 0.04 < time.monotonic() - t0 < 1.0


def test_a_closed_client_is_given_to_the_parser_to_notice(handoff: HandOff,
                                                          pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)
    client.close()
    assert handoff.linger(server, 5.0)  # readable: the next read sees the end of the stream


def test_no_linger_while_a_connection_waits_for_a_thread(handoff: HandOff,
                                                         pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)
    take(handoff)  # both threads busy
    handoff.queued()  # and a third connection waits
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert not handoff.linger(server, 5.0)  # even with its next request there: the poller's turn
    assert not handoff.linger(server, 5.0, ready=True)


def test_a_lingering_thread_is_woken_when_another_connection_needs_it(
        handoff: HandOff, pair: tuple[socket.socket, socket.socket]) -> None:
    server, _ = pair
    take(handoff)
    take(handoff)  # two threads of two: the second is in a call
    thread, out = linger_in_thread(handoff, server, 30.0)
    time.sleep(0.05)
    handoff.queued()  # a new connection, no free thread
    thread.join(5)
    assert out[0] is False and out[1] < 2.0  # type: ignore[operator]


def test_a_connection_a_free_thread_takes_does_not_end_the_linger(
        handoff: HandOff, pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)  # one thread of two lingers, the other is free
    thread, out = linger_in_thread(handoff, server, 5.0)
    time.sleep(0.05)
    take(handoff)  # served by the free thread
    time.sleep(0.05)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    thread.join(5)
    assert out[0] is True


def test_a_stale_wake_up_does_not_end_a_later_linger(handoff: HandOff,
                                                     pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    take(handoff)
    take(handoff)
    thread, out = linger_in_thread(handoff, server, 30.0)
    time.sleep(0.05)
    handoff.queued()  # wakes the lingering thread …
    thread.join(5)
    handoff.finished()  # … which goes back to the pool and takes the waiting connection
    handoff.started()
    thread, out = linger_in_thread(handoff, server, 5.0)
    time.sleep(0.05)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    thread.join(5)
    assert out[0] is True
