"""A fake business server on a loopback port, for connector tests.

Declare routes and their answers, make the server slow, down or answer garbage, and
read back what it received::

    with FakeServer() as server:
        server.add("GET", "/tickets", json=[{"id": 1}])
        server.add("POST", "/tickets", json={"id": 2}, status=201)
        ...                                  # point the binding's url setting at server.url
        assert server.received("POST", "/tickets")[0].json == {"title": "nid-de-poule"}

It is a real HTTP server (Werkzeug, threaded), so what the connector's outbound client
does — timeouts, TLS refusal, retries, the circuit breaker, the journal — happens as in
production, which ``responses`` (in-process mocking of requests) cannot show.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

Handler = Callable[["Received"], "Answer"]


@dataclass(frozen=True)
class Received:
    """One request the fake server received."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body decoded as JSON (``None`` when empty)."""
        return jsonlib.loads(self.body) if self.body else None

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Answer:
    """What a route answers: status, body, headers, and an optional delay."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def answer(*, json: Any = None, body: bytes | str | None = None, status: int = 200,
           headers: Mapping[str, str] | None = None, content_type: str | None = None,
           delay: float = 0.0) -> Answer:
    """Build an :class:`Answer`: ``json`` is encoded with a JSON content type."""
    hdrs = dict(headers or {})
    if json is not None:
        raw = jsonlib.dumps(json).encode()
        hdrs.setdefault("Content-Type", content_type or "application/json")
    else:
        raw = body.encode() if isinstance(body, str) else (body or b"")
        if content_type:
            hdrs.setdefault("Content-Type", content_type)
    return Answer(status, raw, hdrs, delay)


GARBAGE = answer(body="<html><body>Service temporarily unavailable</body></html>",
                 content_type="text/html")


class FakeServer:
    """A business server for tests: routes, recorded requests, failure modes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # route → its answers still to serve; the last one repeats once reached, until
        # a new answer is added (which then replaces it).
        self._routes: dict[tuple[str, str], list[Answer | Handler]] = {}
        self._repeating: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.delay = 0.0
        self.garbage = False
        self._host = host
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.up()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    def up(self) -> None:
        """Start (or restart after :meth:`down`) listening, on the same port."""
        if self._server is not None:
            return
        self._server = make_server(self._host, self.port, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: connections are refused until :meth:`up`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def close(self) -> None:
        self.down()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- declaring answers -------------------------------------------------------------

    def add(self, method: str, path: str, *, json: Any = None, body: bytes | str | None = None,
            status: int = 200, headers: Mapping[str, str] | None = None,
            content_type: str | None = None, delay: float = 0.0,
            handler: Handler | None = None) -> None:
        """Answer ``method path`` (query string ignored). Several answers for one route
        are served in turn, the last one repeating until another is added;
        ``handler(received)`` computes one."""
        item: Answer | Handler = handler if handler is not None else answer(
            json=json, body=body, status=status, headers=headers, content_type=content_type, delay=delay)
        key = (method.upper(), path)
        with self._lock:
            if key in self._repeating:
                self._repeating.discard(key)
                self._routes[key] = []
            self._routes.setdefault(key, []).append(item)

    def reset(self) -> None:
        """Forget the routes, the recorded requests and the failure modes."""
        with self._lock:
            self._routes.clear()
            self._repeating.clear()
            self.requests.clear()
        self.delay, self.garbage = 0.0, False

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        """Recorded requests, optionally only those of one method and/or path."""
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method.upper()) and (path is None or r.path == path)]

    # -- serving -----------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received = Received(
            method=request.method, path=request.path,
            query={k: request.args.getlist(k) for k in request.args},
            headers=dict(request.headers.items()), body=request.get_data())
        with self._lock:
            self.requests.append(received)
        result = self._answer_for(received)
        if result.delay or self.delay:
            time.sleep(result.delay or self.delay)
        response = Response(result.body, status=result.status, headers=result.headers)
        return response(environ, start_response)

    def _answer_for(self, received: Received) -> Answer:
        if self.garbage:
            return GARBAGE
        key = (received.method, received.path)
        with self._lock:
            queue = self._routes.get(key)
            item: Answer | Handler | None = None
            if queue and len(queue) > 1:
                item = queue.pop(0)
            elif queue:
                item = queue[0]
                self._repeating.add(key)
        if item is None:
            return answer(json={"error": f"no route {received.method} {received.path}"}, status=404)
        return item if isinstance(item, Answer) else item(received)
