"""A total deadline for one outbound call: connect, headers and the whole body.

``requests`` timeouts apply to each socket operation: a server sending one byte every
2 s never trips a 30 s read timeout and holds the calling thread for hours. Here every
socket a call uses is registered with the call's :class:`Deadline`; one watchdog thread
per process shuts those sockets down when the deadline passes, so the blocked read
returns at once (whatever phase it is in: TLS handshake, headers, body) and the call
fails as a timeout.

The cost on the hot path is a dict insert and delete under an uncontended lock; the
watchdog sleeps until the earliest deadline (at most a second) and never wakes per call.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import connection, connectionpool

from framework.journal import mask_text


class Deadline:
    """When one call must be over, and the sockets to cut when it is."""

    __slots__ = ("at", "expired", "seconds", "sockets")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.sockets: list[socket.socket] = []

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self.at


#: The deadline of the call running in this context (set by OutboundHTTP).
current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("raccord_deadline", default=None)


def _cut(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object
    # under the reading thread's feet. Shutting the descriptor down wakes that reader.
    with contextlib.suppress(OSError):  # already closed: nothing to wake
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    """One thread per process cutting the sockets of calls past their deadline."""

    IDLE_WAKE = 1.0  # seconds; an idle process wakes once a second, never per call

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # After a fork the thread is gone and the lock may be held: start afresh.
        self._cond = threading.Condition(threading.Lock())
        self._active: dict[int, Deadline] = {}
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            self._active[id(deadline)] = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="raccord-deadlines", daemon=True)
                self._thread.start()
            elif deadline.at < self._wake_at:
                self._cond.notify()

    def unwatch(self, deadline: Deadline) -> None:
        with self._cond:
            self._active.pop(id(deadline), None)

    def attach(self, deadline: Deadline, sock: socket.socket) -> None:
        """Register a socket of the call; one attached after expiry is cut at once."""
        with self._cond:
            deadline.sockets.append(sock)
            if deadline.expired:
                _cut(sock)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, deadline in list(self._active.items()):
                    if deadline.at <= now:
                        deadline.expired = True
                        for sock in deadline.sockets:
                            _cut(sock)
                        del self._active[key]
                earliest = min((d.at for d in self._active.values()), default=math.inf)
                self._wake_at = min(earliest, now + self.IDLE_WAKE)
                self._cond.wait(max(0.0, self._wake_at - now))


watchdog = Watchdog()


def attach(sock: Any) -> None:
    """Register ``sock`` with the deadline of the call running here, if any."""
    deadline = current.get()
    if deadline is not None and sock is not None:
        watchdog.attach(deadline, sock)


class _RedactURLs(logging.Filter):
    """urllib3 logs request URLs (a malformed answer's warning, debug lines): their
    query may hold an API key and their netloc a password."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_text(record.getMessage()), ()
        return True


for _name in ("urllib3.connection", "urllib3.connectionpool", "urllib3.response"):
    logging.getLogger(_name).addFilter(_RedactURLs())


class _Connection(connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        attach(sock)  # a new connection: from the TCP handshake on
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach(self.sock)  # a kept-alive connection reused by this call
        super().request(*args, **kwargs)


class _TLSConnection(connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        attach(sock)  # before the TLS handshake, which a server can dribble too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach(self.sock)
        super().request(*args, **kwargs)


class _Pool(connectionpool.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


POOL_CLASSES: dict[str, type[connectionpool.HTTPConnectionPool]] = {"http": _Pool, "https": _TLSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections register their sockets with the call's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = POOL_CLASSES
        return manager
