"""The direct transport: a prepared request sent over ``http.client``, a
``requests.Response`` built from its answer, urllib3 skipped.

Under requests, urllib3 redoes per call what a binding's calls never need: a ``Retry``
and a ``Timeout`` object, its header dicts, its ``HTTPResponse`` wrapper and header
checks, its pool's queue — most of a local call's CPU (docs/outbound.md, "Direct
transport"). Here one :class:`DirectPool` per origin and CA bundle keeps
kept-alive ``http.client`` connections; :func:`send` writes the request, reads the
status and headers, and hands the body to :class:`~.wire.WireAnswer` as the
response's ``raw``, so that ``iter_content``, the size cap, cookies and redirects work
as with urllib3.

Failures are raised as requests raises them over urllib3 (``client.py`` maps those):
connection refused or unreachable → ``ConnectionError``; no connection in time →
``ConnectTimeout``; a TLS handshake or headers not in time → ``ReadTimeout``; a
certificate not verified → ``SSLError``; the server closing before or while
answering → ``ConnectionError`` (then, in the body, ``ChunkedEncodingError``).
Messages name what failed, never the URL (it may carry a password or an API key).

The call's deadline (:mod:`.deadline`) gets every socket: the TCP socket before the
TLS handshake, the TLS one, and a kept-alive one when it is reused. A connection goes
back to its pool only when its answer was read to the end; before reuse, one the
server closed meanwhile is dropped (a zero-timeout readability check, as urllib3's
``is_connection_dropped``).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from framework.outbound.deadline import attach
from framework.outbound.wire import WireAnswer

#: Methods urllib3 sends no ``Content-Length: 0`` for when they carry no body.
_NO_BODY_EXPECTED = frozenset({"GET", "HEAD", "DELETE", "TRACE", "OPTIONS", "CONNECT"})
_FOLD = re.compile(r"\r\n[ \t]+")  # obsolete line folding, joined with a space as urllib3 does
# http.client's own checks of what it writes (putrequest, putheader), applied here.
_BAD_METHOD = re.compile(r"[\x00-\x1f]").search
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]").search
_GOOD_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
_BAD_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search
_JOIN_BELOW = 64 * 1024  # bodies up to this size are sent with the head in one write


class _Connection(http.client.HTTPConnection):
    """An ``http.client`` connection whose sockets the call's deadline can cut, and
    whose failures to connect are requests' exceptions."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, timeout: float | None) -> None:
        super().__init__(host, port, timeout=timeout)
        self._context = context

    def connect(self) -> None:
        try:
            super().connect()  # TCP, bounded by the connect timeout
        except TimeoutError:
            raise requests.ConnectTimeout("no connection within the connect timeout") from None
        except OSError as exc:
            raise requests.ConnectionError(f"cannot connect: {_describe(exc)}") from None
        attach(self.sock)
        if self._context is None:
            return
        try:
            # The handshake after registering the TLS socket: a server can dribble it too.
            tls = self._context.wrap_socket(self.sock, server_hostname=self.host, do_handshake_on_connect=False)
            self.sock = tls
            attach(tls)
            tls.do_handshake()
        except TimeoutError:
            self.close()
            raise requests.ReadTimeout("TLS handshake not over within the timeout") from None
        except ssl.SSLError as exc:
            self.close()
            raise requests.exceptions.SSLError(f"TLS failure: {exc.reason or type(exc).__name__}") from None
        except OSError as exc:
            self.close()
            raise requests.ConnectionError(f"TLS handshake broken off: {_describe(exc)}") from None


def _describe(exc: OSError) -> str:
    # strerror only: str() of some socket errors repeats the address connected to.
    return exc.strerror or type(exc).__name__


def _dropped(sock: socket.socket) -> bool:
    """Whether a kept-alive connection can no longer be used: readable while no request
    is pending means the server closed it (or sent what nobody asked for)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class DirectPool:
    """Kept-alive connections to one origin, at most ``maxsize`` idle; thread-safe."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, maxsize: int) -> None:
        self.host = host
        self.port = port
        self.context = context
        self.maxsize = maxsize
        # As http.client writes it: IPv6 bracketed, the scheme's default port omitted.
        shown = f"[{host}]" if ":" in host else host
        default = 443 if context is not None else 80
        self.host_header = (shown if port == default else f"{shown}:{port}").encode("ascii")  # IDNA'd by requests
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def checkout(self, connect_timeout: float | None) -> _Connection:
        """A connection to send one request on: the most recently used idle one still
        open, or a new one (connected here: failures are requests' exceptions)."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if conn.sock is not None and not _dropped(conn.sock):
                attach(conn.sock)  # this call's deadline covers the reused socket
                return conn
            conn.close()
        conn = _Connection(self.host, self.port, self.context, connect_timeout)
        conn.connect()
        return conn

    def checkin(self, conn: _Connection, reusable: bool) -> None:
        if reusable and conn.sock is not None:
            with self._lock:
                if not self._closed and len(self._idle) < self.maxsize:
                    self._idle.append(conn)
                    return
        conn.close()

    @property
    def idle(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their answer ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def send(pool: DirectPool, request: requests.PreparedRequest, path: str, body: bytes | None,
         timeout: tuple[float | None, float | None], adapter: Any) -> requests.Response:
    """Send ``request`` on a connection of ``pool``; the response's body is left to read."""
    connect_timeout, read_timeout = timeout
    method = request.method or "GET"
    head = _head(method, path, pool.host_header, request.headers, body)  # invalid: nothing sent
    conn = pool.checkout(connect_timeout)
    sock = conn.sock
    answer: http.client.HTTPResponse | None = None
    try:
        assert sock is not None
        sock.settimeout(read_timeout)
        # One write for the head and a small body: no second segment to wait for.
        # The server may have answered and closed already (a 413, a 401 before the
        # body): its answer is read next, as urllib3 does.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if body and len(body) > _JOIN_BELOW:
                sock.sendall(head)
                sock.sendall(body)
            else:
                sock.sendall(head + body if body else head)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
    except BaseException as exc:
        if answer is not None:
            answer.close()  # its file object holds the socket open past conn.close()
        conn.close()
        if isinstance(exc, TimeoutError):
            raise requests.ReadTimeout("no answer within the read timeout", request=request) from None
        if isinstance(exc, ssl.SSLError):
            raise requests.exceptions.SSLError(f"TLS failure: {exc.reason or type(exc).__name__}",
                                               request=request) from None
        if isinstance(exc, OSError | http.client.HTTPException):
            # Closed before answering, reset, or no HTTP answer at all: urllib3's
            # ProtocolError("Connection aborted."), a ConnectionError to requests.
            raise requests.ConnectionError(f"Connection aborted: {type(exc).__name__}", request=request) from None
        raise
    headers = _headers(answer.msg)
    answered = answer

    def release(complete: bool) -> None:
        pool.checkin(conn, complete and not answered.will_close)

    response = requests.Response()
    response.status_code = answer.status
    response.headers = headers
    response.encoding = get_encoding_from_headers(headers)
    response.reason = answer.reason
    response.url = request.url  # type: ignore[assignment]
    response.request = request
    response.connection = adapter
    response.raw = WireAnswer(answer, headers, release)
    if "Set-Cookie" in headers or "Set-Cookie2" in headers:
        extract_cookies_to_jar(response.cookies, request, response.raw)  # type: ignore[no-untyped-call]
    return response


def _head(method: str, path: str, host: bytes, headers: Mapping[str, str | bytes], body: bytes | None) -> bytes:
    """The request line and headers as http.client writes them for urllib3 — Host
    first (unless the request has its own), "Accept-Encoding: identity" when it has
    none, the request's headers, a Content-Length urllib3 would add — written here in
    one piece (``putrequest``/``putheader`` cost ~13 µs a call). Checked as http.client
    checks them (ValueError for a method or header it refuses; requests' InvalidURL for
    a path), so that no request smuggles a header or a second request."""
    if _BAD_METHOD(method):
        raise ValueError(f"method {method[:20]!r} has control characters")
    if _BAD_TARGET(path):
        raise requests.exceptions.InvalidURL("the URL's path has forbidden characters")
    lines = [f"{method} {path} HTTP/1.1".encode("ascii")]
    if "Host" not in headers:
        lines.append(b"Host: " + host)
    if "Accept-Encoding" not in headers:
        lines.append(b"Accept-Encoding: identity")
    for name, value in headers.items():
        raw_name = name.encode("latin-1") if isinstance(name, str) else name
        raw_value = value.encode("latin-1") if isinstance(value, str) else value
        if not _GOOD_NAME(raw_name) or _BAD_VALUE(raw_value):
            raise ValueError(f"header {raw_name[:40]!r} has forbidden characters")
        lines.append(raw_name + b": " + raw_value)
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        elif method not in _NO_BODY_EXPECTED:
            lines.append(b"Content-Length: 0")
    lines += (b"", b"")
    return b"\r\n".join(lines)


def _headers(message: http.client.HTTPMessage) -> CaseInsensitiveDict[str]:
    """The answer's headers as requests gets them from urllib3: a repeated header's
    values joined with ", " under its first spelling, folded lines unfolded."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in message.items():
        if "\r\n" in value:
            value = _FOLD.sub(" ", value)
        key = name.lower()
        seen = merged.get(key)
        merged[key] = (name, value) if seen is None else (seen[0], f"{seen[1]}, {value}")
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in merged.values():
        headers[name] = value
    return headers
