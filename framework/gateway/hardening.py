"""The embedded HTTP server, hardened: what gunicorn itself refuses is the JSON
envelope too, its logs never hold a query string or a credential, a read that
stalls ends, and a worker whose every thread is stuck is recycled.

* :class:`JsonErrorWorker` (gunicorn's ``gthread`` worker) answers a request it cannot
  parse — bad method, raw bytes, request line over :data:`LIMIT_REQUEST_LINE` bytes,
  too many or too large headers, malformed chunked body — with
  ``{"err": 1, "err_class": "raccord.bad_request", …}`` (400), never gunicorn's HTML
  page, and without echoing the input (it may carry ``apikey=``/``signature=``).
* :class:`RedactingLogger` strips query strings, ``Authorization`` values and
  ``apikey=``/``signature=``-like pairs from every line gunicorn logs.
* Each connection's socket gets a per-read timeout (:data:`READ_TIMEOUT_S`): a client
  that stops sending mid-request frees its thread. This bounds one read, not a whole
  request: a patient slowloris is nginx's job in production (docs/deployment.md).
* A response's head and a small body leave in one write (:mod:`framework.gateway.coalesce`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import re
import socket
import struct
import sys
import threading
import time
import uuid
from typing import Any

from gunicorn import glogging
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from framework.gateway.coalesce import HeldHead, ResponseConn

LIMIT_REQUEST_LINE = 4094  # bytes of "METHOD /path?query HTTP/1.1"
LIMIT_REQUEST_FIELDS = 64  # headers per request
LIMIT_REQUEST_FIELD_SIZE = 8190  # bytes per header line
KEEPALIVE_S = 5
READ_TIMEOUT_S = 10
WORKER_TIMEOUT_S = 30
#: A worker whose every thread has been in one call this long stops notifying the
#: master, which replaces it WORKER_TIMEOUT_S later (outbound calls have shorter deadlines).
STUCK_AFTER_S = 120.0
#: The main loop tells the master it is alive (a file's mtime, a syscall) and checks its
#: parent at most this often, not once per poller wake-up (once per request under load).
NOTIFY_EVERY_S = 1.0
_RCVTIMEO = struct.pack("ll", READ_TIMEOUT_S, 0)

# Every refusal is a 400 (the statuses of the envelope contract), its message naming the
# rule broken and never quoting the request.
_REFUSALS: tuple[tuple[type[BaseException], str], ...] = (
    (http_errors.LimitRequestLine, f"the request line is over {LIMIT_REQUEST_LINE} bytes"),
    (http_errors.LimitRequestHeaders,
     f"too many or too large headers (at most {LIMIT_REQUEST_FIELDS} of {LIMIT_REQUEST_FIELD_SIZE} bytes)"),
    (http_errors.InvalidRequestMethod, "the request method is not valid"),
    (http_errors.InvalidRequestLine, "the request line is not valid HTTP"),
    (http_errors.InvalidHTTPVersion, "the HTTP version is not supported"),
    (http_errors.InvalidChunkSize, "the chunked body is malformed"),
    (http_errors.ChunkMissingTerminator, "the chunked body is malformed"),
    (http_errors.InvalidChunkExtension, "the chunked body is malformed"),
    (http_errors.UnsupportedTransferCoding, "this transfer coding is not supported (use chunked or none)"),
    (http_errors.ExpectationFailed, "this Expect header is not supported"),
    (http_errors.ParseException, "the request is not valid HTTP"),
)
_REASONS = {400: "Bad Request", 500: "Internal Server Error"}

log = logging.getLogger("raccord.gateway")


def refusal(exc: BaseException) -> tuple[int, str] | None:
    """Status and message for a request gunicorn could not parse; None if it is not one."""
    for cls, message in _REFUSALS:
        if isinstance(exc, cls):
            return 400, message
    return None


def _answer(status: int, err_class: str, desc: str, data: Any = None) -> bytes:
    body = json.dumps({"err": 1, "err_class": err_class, "err_desc": desc, "data": data}).encode()
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._busy: dict[int, float] = {}  # thread id → when its current call started
        self._notified = float("-inf")
        self._parent_checked = float("-inf")

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        found = refusal(exc)
        if found is not None:
            status, desc = found
            # The type only: the text quotes the request line (with its query string).
            self.log.warning("refused a malformed request from %s: %s (%d)",
                             (addr or ("?",))[0], type(exc).__name__, status)
            payload = _answer(status, "raccord.bad_request", desc)
        else:
            ident = uuid.uuid4().hex[:16]
            self.log.error("incident %s in the HTTP server: %s", ident, type(exc).__name__)
            payload = _answer(500, "raccord.incident",
                              f"internal error; quote incident {ident} to the administrator", {"incident": ident})
        with contextlib.suppress(OSError):
            client.sendall(payload)

    def handle(self, conn: Any) -> Any:
        # Once per connection, not per request (gunicorn calls this for each request of
        # a kept-alive connection). SO_RCVTIMEO stays in force after gunicorn switches
        # the socket to blocking mode.
        if not getattr(conn, "raccord_read_timeout", False):
            with contextlib.suppress(OSError):
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _RCVTIMEO)
            conn.raccord_read_timeout = True
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        me = threading.get_ident()
        self._busy[me] = time.monotonic()
        out = HeldHead(conn.sock)
        try:
            return super().handle_request(req, ResponseConn(out, conn.client, conn.server))
        finally:
            self._busy.pop(me, None)
            out.flush()  # a head without a body (HEAD, 204, 304, an empty answer)

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._notified < NOTIFY_EVERY_S:
            return
        if not self.stuck(now):
            self._notified = now
            super().notify()

    def is_parent_alive(self) -> bool:
        now = time.monotonic()
        if now - self._parent_checked < NOTIFY_EVERY_S:
            return True
        self._parent_checked = now
        return bool(super().is_parent_alive())

    def stuck(self, now: float | None = None) -> bool:
        """Every thread has been in one call longer than STUCK_AFTER_S."""
        now = time.monotonic() if now is None else now
        starts = list(self._busy.values())
        return len(starts) >= self.cfg.threads and all(now - s > STUCK_AFTER_S for s in starts)


# -- logs ------------------------------------------------------------------------------

_QUERY = re.compile(r"\?[^\s'\"]*")
_AUTH = re.compile(r"(?i)(authorization|x-api-key|cookie)(['\"]?\s*[:=,]\s*['\"]?)[^\r\n'\"]*")
_PAIRS = re.compile(r"(?i)\b(apikey|api_key|signature|nonce|token|access_token|password|secret|key)=[^&\s'\"]*")


def redact(text: str) -> str:
    """A log line without query strings, credential headers or secret ``name=value`` pairs."""
    text = _QUERY.sub("?…", text)
    text = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _PAIRS.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger with every message redacted (error log and access log)."""

    def _clean(self, msg: Any, args: tuple[Any, ...]) -> str:
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(a) for a in (msg, *args))
        return redact(text)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.critical(self._clean(msg, args), **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.error(self._clean(msg, args), **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.warning(self._clean(msg, args), **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.info(self._clean(msg, args), **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.debug(self._clean(msg, args), **kwargs)

    def log(self, lvl: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(lvl, str):
            lvl = self.LOG_LEVELS.get(lvl.lower(), logging.INFO)
        self.error_log.log(lvl, self._clean(msg, args), **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.ETIMEDOUT):
            # The per-read timeout ended a stalled request: expected, no traceback.
            self.error_log.info("closed a connection silent for %d s in the middle of a request", READ_TIMEOUT_S)
            return
        # The traceback may quote request data: log its type and place, redacted.
        where = ""
        if exc is not None and exc.__traceback__ is not None:
            tb = exc.__traceback__
            while tb.tb_next is not None:
                tb = tb.tb_next
            where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        name = type(exc).__name__ if exc is not None else "error"
        self.error_log.error("%s: %s%s", self._clean(msg, args), name, where)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        safe = dict(environ)
        safe["QUERY_STRING"] = ""
        safe["RAW_URI"] = _QUERY.sub("", str(safe.get("RAW_URI", "")))
        safe.pop("HTTP_AUTHORIZATION", None)
        super().access(resp, req, safe, request_time)
