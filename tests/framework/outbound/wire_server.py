"""A raw-socket server for the direct transport's tests: each connection is handed to
a function that reads requests and writes whatever bytes the test wants (a broken
chunk, a short body, a reset), over TCP or TLS, on 127.0.0.1 (or ::1)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[socket.socket, "WireServer"], None]


def read_request(sock: socket.socket) -> tuple[str, dict[str, str], bytes] | None:
    """One request: (request line, headers by lower-cased name, body); None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *rest = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest)}
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        body += sock.recv(65536)
    return line, headers, body


def answer(status: int = 200, body: bytes = b'{"ok": true}', **headers: str) -> bytes:
    """An HTTP/1.1 answer with Content-Length (``headers``' underscores become dashes)."""
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class WireServer:
    """Serves each accepted connection with ``handler`` in its own thread; records the
    requests' headers and the client ports (one port: one connection)."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.tls = tls
        self.seen: list[dict[str, str]] = []
        self.ports: list[int] = []
        self.extra: dict[str, Any] = {}
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else ("localhost" if tls else host)
        self.url = f"{'https' if tls else 'http'}://{shown}:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._open: list[socket.socket] = []

    def _accept(self) -> None:
        while True:
            try:
                conn, address = self._sock.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn, address[1]), daemon=True).start()

    def _serve(self, conn: socket.socket, port: int) -> None:
        try:
            conn.settimeout(30)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                self._open.append(conn)
            self.ports.append(port)
            self.handler(conn, self)
        except OSError:
            pass  # the client left (deadline, cap): expected
        finally:
            conn.close()

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close does not)
        self._sock.close()
        for conn in self._open:
            conn.close()
        self._thread.join(timeout=5)


def keep_alive(*answers: bytes) -> Handler:
    """A keep-alive handler answering the server's requests with ``answers`` in turn,
    whatever their connection (the last one repeated)."""
    def handle(sock: socket.socket, server: WireServer) -> None:
        while (request := read_request(sock)) is not None:
            server.seen.append({"line": request[0], **request[1], "body": request[2].decode("latin-1")})
            sock.sendall(answers[min(len(server.seen) - 1, len(answers) - 1)])
    return handle
