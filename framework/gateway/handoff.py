"""Serving a kept-alive connection's next request on the thread that answered the last one.

gunicorn's ``gthread`` worker hands every kept-alive connection back to its main thread
after each response: a pipe write wakes the main thread, which registers the socket
with its poller, wakes up again when the next request arrives and submits the
connection to the thread pool, whose thread then has to get the GIL back. Two
cross-thread hand-offs and half a dozen syscalls per request: on a sequential
keep-alive client that is most of what the server adds to a call
(docs/benchmarks/server.md).

:class:`HandOff` lets the answering thread wait briefly (:data:`LINGER_S`) for that
next request itself, but only while no connection is waiting for a thread that
is not free: a thread busy lingering is woken the moment one is
(:meth:`HandOff.queued`), and gives the connection back to the poller, so an idle
or slow client never holds a thread that others need.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading

#: Long enough for a client's next call on a kept-alive connection (a loop in a
#: client, wrk, nginx reusing its upstream connections under load arrive within a
#: millisecond), short enough that an idle connection soon goes back to the poller.
LINGER_S = 0.01

_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL


class HandOff:
    """Threads of one worker process: how many are in a connection's call (or
    lingering after one), how many connections wait for a thread, and a pipe that
    wakes the lingering threads when one of those would otherwise wait."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._busy = 0  # threads inside a connection's handling, lingering included
        self._waiting = 0  # connections submitted to the pool, not yet started
        self._lingering = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _short(self) -> bool:
        # Some connection waits and no free thread is left to take it.
        return self._busy + self._waiting > self.threads

    def queued(self) -> None:
        """A connection was submitted to the pool (called before the submission)."""
        with self._lock:
            self._waiting += 1
            if self._lingering and self._short():
                with contextlib.suppress(OSError):  # full pipe: the lingerers are being woken anyway
                    os.write(self._wake_w, b"\0")

    def started(self) -> None:
        """A thread took a submitted connection."""
        with self._lock:
            self._waiting -= 1
            self._busy += 1

    def finished(self) -> None:
        """That thread is done with the connection (back to the pool)."""
        with self._lock:
            self._busy -= 1

    def linger(self, sock: socket.socket, timeout: float, ready: bool = False) -> bool:
        """Whether this thread should serve ``sock``'s next request now: it arrived
        within ``timeout`` (at once if ``ready``: already read ahead) and no
        connection waited meanwhile for a thread none was free to give."""
        with self._lock:
            if self._short():
                return False
            if ready:
                return True
            # Nobody is short of a thread now: a wake-up still in the pipe is stale.
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
            self._lingering += 1
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLPRI)
            poller.register(self._wake_r, select.POLLIN)
            events = dict(poller.poll(timeout * 1000))
        except (OSError, ValueError):  # the socket is closed or gone: the poller's path deals with it
            return False
        finally:
            with self._lock:
                self._lingering -= 1
        if events.get(self._wake_r):
            return False
        return bool(events.get(sock.fileno(), 0) & _READABLE)
