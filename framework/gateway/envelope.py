"""The Passerelle-compatible JSON envelope, and nothing but JSON.

Success: ``{"err": 0, "data": …}``. Error: ``{"err": 1, "err_class": …, "err_desc": …,
"data": …}``. An unexpected exception becomes an incident with an id (logged
server-side with its traceback); the caller never sees a traceback or an HTML page.

Statuses (``error_status`` of ``[gateway]`` or of the calling client):

* ``"passerelle"`` (default): as Passerelle answers w.c.s. — a connector-level error
  (the business server said no or failed, a timeout, an open circuit, an incident) is
  HTTP **200** with ``err: 1``, so that w.c.s. applies the workflow's "application
  error" action (``:pass`` by default) and logs ``err_desc``, instead of its "HTTP
  5xx" action (``:stop``). Framework-level refusals keep their status: 401, 403, 404,
  405, 413; so does a status asked explicitly (``http_status=``, e.g. the 400 of a
  parameter that cannot be converted, as Passerelle's WrongParameter).
* ``"http"``: every error with its class's status (400, 502, 503, 504, 500…).

Every answer carries ``X-Error-Code`` (``0`` or ``1``): w.c.s. reads it before the body
and it is the only error signal of a non-JSON (attachment) answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from framework.errors import MethodNotAllowed, RaccordError, Unauthorized, envelope_for

JSON_TYPE = "application/json"
RETRY_AFTER_S = 5  # seconds, when the error does not say (database or binding unavailable)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
Headers = list[tuple[str, str]]


class Answer:
    """A response ready for WSGI: status, headers, one body chunk."""

    __slots__ = ("body", "err_class", "headers", "incident", "status")

    def __init__(self, status: int, body: bytes, headers: Headers | None = None,
                 err_class: str | None = None, incident: str | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else [("Content-Type", JSON_TYPE)]
        self.err_class = err_class
        self.incident = incident


def encode(payload: Any) -> bytes:
    return _dumps(payload).encode("utf-8")


def success(data: Any, status: int = 200) -> Answer:
    """``{"err": 0, "data": …}``; raises TypeError/ValueError if data is not JSON."""
    return Answer(status, encode({"err": 0, "data": data}))


#: Refusals by the framework itself, answered with their status in every mode.
KEPT_STATUSES = frozenset({401, 403, 404, 405, 413})
MODES = ("passerelle", "http")


def error_status(exc: RaccordError, mode: str) -> int:
    if exc.http_status is not None:
        return exc.http_status
    if mode == "http" or exc.status in KEPT_STATUSES:
        return exc.status
    return 200


def error(exc: RaccordError, mode: str = "http") -> Answer:
    answer = Answer(error_status(exc, mode), encode(envelope_for(exc)), err_class=exc.err_class)
    if isinstance(exc, MethodNotAllowed) and exc.allowed:
        answer.headers.append(("Allow", ", ".join(exc.allowed)))
    elif isinstance(exc, Unauthorized):
        answer.headers.append(("WWW-Authenticate", 'Basic realm="raccord", charset="UTF-8"'))
    # A retry hint: the caller (w.c.s., a load balancer) retries later, not at once. A full
    # bulkhead says how long; a database or binding that is down gets the default.
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is None and exc.status == 503:
        retry_after = RETRY_AFTER_S
    if retry_after is not None:
        answer.headers.append(("Retry-After", str(int(retry_after))))
    return answer


def incident(mode: str = "http") -> Answer:
    """A 500 (200 in Passerelle mode) for an unexpected exception; the caller gets the id
    to quote, not the detail."""
    ident = uuid.uuid4().hex[:16]
    body = {"err": 1, "err_class": "raccord.incident",
            "err_desc": f"internal error; quote incident {ident} to the administrator",
            "data": {"incident": ident}}
    return Answer(500 if mode == "http" else 200, encode(body), err_class="raccord.incident",
                  incident=ident)


def text(status: int, body: str, content_type: str) -> Answer:
    return Answer(status, body.encode("utf-8"), [("Content-Type", content_type)])


STATUS_LINES = {
    200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized",
    403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed",
    413: "413 Content Too Large", 500: "500 Internal Server Error", 502: "502 Bad Gateway",
    503: "503 Service Unavailable", 504: "504 Gateway Timeout",
}


def status_line(status: int) -> str:
    if (line := STATUS_LINES.get(status)) is not None:
        return line
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Status"


def allow_header(methods: Iterable[str]) -> tuple[str, str]:
    return ("Allow", ", ".join(methods))
