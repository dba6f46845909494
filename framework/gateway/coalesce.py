"""One segment per small answer: gunicorn writes a response's status line and headers,
then its body, in two ``sendall`` calls; with TCP_NODELAY (gunicorn sets it) each is its
own TCP segment, so the client wakes twice to read one answer and the server makes two
syscalls. :class:`HeldHead` holds the first write back and sends it with the second."""

from __future__ import annotations

import socket
from typing import Any

#: Bodies up to this size are joined to the head (a copy); larger ones go out on their own.
JOIN_LIMIT = 64 * 1024


class HeldHead:
    """A connection's socket for one response, as gunicorn's Response writes to it.

    The first ``sendall`` (the head) waits for the next one; anything else asked of the
    socket (``sendfile``, ``shutdown``, ``fileno``…) first sends what is held, and the
    worker calls :meth:`flush` when the response is done (a head with no body)."""

    __slots__ = ("_held", "_passing", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._held: bytes | None = None
        self._passing = False

    def sendall(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held, self._passing = None, True
            if len(data) <= JOIN_LIMIT:
                self._sock.sendall(held + data)
                return
            self._sock.sendall(held)
        elif not self._passing:
            self._held = bytes(data)
            return
        self._sock.sendall(data)

    def flush(self) -> None:
        held, self._held, self._passing = self._held, None, True
        if held is not None:
            self._sock.sendall(held)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._sock, name)


class ResponseConn:
    """What gunicorn's ``handle_request`` reads of a connection, writing through ``sock``."""

    __slots__ = ("client", "server", "sock")

    def __init__(self, sock: Any, client: Any, server: Any) -> None:
        self.sock, self.client, self.server = sock, client, server
