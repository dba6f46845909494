"""A hostile business server on 127.0.0.1: every way an upstream can misbehave.

Raw sockets, so it can do what a well-behaved HTTP library refuses to: dribble headers
or a body one byte at a time, reset the connection, announce a gigabyte and stream it.
``GET /<mode>`` picks the misbehaviour (see :data:`MODES`); ``?every=`` (or a second
path segment, ``/dribble/0.2/…``) sets the dribble interval in seconds. A second
instance used as a redirect target records what reached it (:attr:`HostileServer.seen`: method, path, headers, body).

Importable by a gunicorn subprocess (``python -m tests.framework.outbound.hostile PORT``).
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

SOAP_FAULT = (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
              b"<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>hostile fault"
              b"</faultstring></soap:Fault></soap:Body></soap:Envelope>")
XML_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b"<r>&lol3;</r></soap:Body></soap:Envelope>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
       b"<r>&xxe;</r></soap:Body></soap:Envelope>")
HUGE = 1024 * 1024 * 1024  # announced and streamed by /huge (never held in memory)

#: mode → what the server does (documentation and parametrisation of the suites)
MODES = {
    "ok": "200 with a small JSON object",
    "html": "200 text/html (a login page)",
    "empty": "200 application/json with an empty body",
    "invalid": "200 application/json that is not JSON",
    "slow-headers": "one header byte every `every` seconds",
    "dribble": "headers at once, then one body byte every `every` seconds",
    "reset": "a TCP reset instead of an answer",
    "huge": "1 GiB of JSON, announced (Content-Length) and streamed",
    "huge-unannounced": "JSON streamed without end (no Content-Length) until the client leaves",
    "redirect-other": "302 to the second server (another port)",
    "redirect-307": "307 to /ok on the same server",
    "soap-fault": "HTTP 500 with a SOAP fault",
    "xml-bomb": "a billion-laughs SOAP answer",
    "xxe": "a SOAP answer with an external entity",
    "nan": "JSON with NaN and Infinity",
    "deep": "100,000-deep JSON array",
}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HostileServer:
    def __init__(self, redirect_to: str = "") -> None:
        self.redirect_to = redirect_to
        self.seen: list[Seen] = []
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- one connection ------------------------------------------------------------------

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        try:
            while self._one(sock):
                pass
        except OSError:
            pass  # the client gave up (deadline, cap): expected

    def _one(self, sock: socket.socket) -> bool:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            head += chunk
        head, _, body = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("Content-Length", "0") or 0)
        while len(body) < length:
            body += sock.recv(65536)
        self.seen.append(Seen(method, target, headers, body))
        parts = urlsplit(target)
        segments = parts.path.strip("/").split("/")
        # The interval as ?every=S, or as the second path segment (/dribble/0.2/…): a base
        # URL a connector appends its own path and query to.
        every = float(parse_qs(parts.query).get("every", [""])[0] or _number(segments[1:]) or 2)
        mode = segments[0] or "ok"
        return self._answer(sock, mode, every)

    def _answer(self, sock: socket.socket, mode: str, every: float) -> bool:
        if mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return False
        if mode == "slow-headers":
            sock.sendall(b"HTTP/1.1 200 OK\r\n")
            for byte in b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}":
                time.sleep(every)
                sock.sendall(bytes([byte]))
            return False
        if mode == "dribble":
            body = b'{"slow": "' + b"x" * 200 + b'"}'
            sock.sendall(_head(200, "application/json", len(body)))
            for byte in body:
                time.sleep(every)
                sock.sendall(bytes([byte]))
            return False
        if mode in ("huge", "huge-unannounced"):
            if mode == "huge":
                sock.sendall(_head(200, "application/json", HUGE))
            else:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
            block = b"[" + b"1," * 32767 + b"1"  # 64 KiB; the client stops long before the end
            sent = 0
            while sent < HUGE:
                sock.sendall(block)
                sent += len(block)
            return False
        if mode == "redirect-other":
            sock.sendall(_head(302, "text/plain", 0, Location=f"{self.redirect_to}/ok"))
            return True
        if mode == "redirect-307":
            sock.sendall(_head(307, "text/plain", 0, Location="/ok"))
            return True
        status, ctype, body = _STATIC.get(mode, (404, "application/json", b'{"error": "unknown mode"}'))
        sock.sendall(_head(status, ctype, len(body)) + body)
        return True


def _number(segments: list[str]) -> float | None:
    try:
        return float(segments[0]) if segments else None
    except ValueError:
        return None


def _head(status: int, ctype: str, length: int, **extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_STATIC: dict[str, tuple[int, str, bytes]] = {
    "ok": (200, "application/json", b'{"ok": true}'),
    "html": (200, "text/html", b"<html><body>Please log in</body></html>"),
    "empty": (200, "application/json", b""),
    "invalid": (200, "application/json", b'{"truncated": '),
    "nan": (200, "application/json", b'{"a": NaN, "b": Infinity, "c": -Infinity}'),
    "deep": (200, "application/json", b"[" * 100_000 + b"]" * 100_000),
    "soap-fault": (500, "text/xml; charset=utf-8", SOAP_FAULT),
    "xml-bomb": (200, "text/xml; charset=utf-8", XML_BOMB),
    "xxe": (200, "text/xml; charset=utf-8", XXE),
}


def main(argv: list[str]) -> Any:  # pragma: no cover - used by benchmarks
    """Serve until killed, printing the URL (``python -m tests.framework.outbound.hostile``)."""
    with HostileServer() as server:
        print(json.dumps({"url": server.url}), flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
