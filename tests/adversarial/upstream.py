"""A local business server for the adversarial suites, on 127.0.0.1: the BAN's search and
reverse, an Open311 server, and the canary probe's routes. It records every request
(method, path, headers, body) so a test can prove a credential reached it, and fails in
varied ways on demand so that errors get journaled:

- ``/ban/search/?q=…``: ``q`` containing ``echo`` is a 500 whose text quotes the request's
  ``Authorization`` header and query (a server echoing the credential back), ``html`` a
  login page, ``invalid`` truncated JSON, ``slow`` an answer after 2 s; else a
  FeatureCollection in Metz (57463) and Marly (57447).
- ``/open311/v2/services.json``; ``requests.json`` (POST): the first one is a 503 quoting the
  form it received (with its ``api_key``), the next ones create request 1001.
- ``/probe/<mode>``: ``ok``, ``echo`` (401 quoting the headers), ``500`` (HTML), ``slow``;
  ``/probe/deliver`` (POST): a 503 quoting the body and headers the first time, then 200.

Run alone for the load benchmark (``python -m tests.adversarial.upstream``: prints its
URL on stdout, serves until stdin closes), so that it does not share the GIL of the
load generator.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.framework.gateway.fakes import serve_wsgi


def _feature(n: int, citycode: str, city: str) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.1758 + n / 1000, 49.1173]},
            "properties": {"citycode": citycode, "postcode": "57000", "name": f"{n} Rue Serpenoise",
                           "housenumber": str(n), "city": city, "context": "57, Moselle, Grand Est",
                           "score": 0.9, "label": f"{n} Rue Serpenoise 57000 {city}",
                           "id": f"{citycode}_6315_{n:05d}", "type": "housenumber", "street": "Rue Serpenoise"}}


BAN_ANSWER = json.dumps({"type": "FeatureCollection", "features": [
    _feature(1, "57463", "Metz"), _feature(11, "57463", "Metz"), _feature(3, "57447", "Marly")]}).encode()
SERVICES = json.dumps([{"service_code": "voirie", "service_name": "Voirie", "group": "Espace public",
                        "metadata": False, "type": "realtime"}]).encode()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    raw_path: str  # as sent, still percent-encoded (``path`` is decoded)

    def text(self) -> str:
        return f"{self.method} {self.path}?{self.query}\n{self.headers}\n{self.body.decode(errors='replace')}"


class Upstream:
    """The WSGI application (see the module docstring); ``seen`` is every request."""

    def __init__(self, *, record: bool = True) -> None:
        self.record = record
        self.seen: list[Seen] = []
        self._posts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._app(environ, start_response)

    @Request.application  # type: ignore[arg-type]
    def _app(self, request: Request) -> Response:
        body = request.get_data()
        seen = Seen(request.method, request.path, request.query_string.decode(errors="replace"),
                    dict(request.headers), body, str(request.environ.get("RAW_URI", request.path)).partition("?")[0])
        first = False
        with self._lock:
            if self.record:
                self.seen.append(seen)
            if request.method == "POST":
                first = request.path not in self._posts
                self._posts[request.path] = self._posts.get(request.path, 0) + 1
        path = request.path
        if path.startswith("/ban/"):
            return self._ban(request, seen)
        if path.startswith("/open311/"):
            if path.endswith("/services.json"):
                return _json(SERVICES)
            if path.endswith("/requests.json") and request.method == "POST":
                if first:
                    return Response(f"temporarily down, got: {body.decode(errors='replace')}", status=503,
                                    content_type="text/plain")
                return _json(json.dumps([{"service_request_id": "1001"}]).encode())
            return _json(b"[]")
        if path == "/probe/deliver":
            if first:
                return Response(f"busy; you sent {seen.text()}", status=503, content_type="text/plain")
            return _json(b'{"delivered": true}')
        mode = path.rsplit("/", 1)[-1]
        if mode == "echo":
            return Response(json.dumps({"error": f"bad credentials: {seen.headers}"}), status=401,
                            content_type="application/json")
        if mode == "500":
            return Response(f"<html><body>Internal error for {seen.headers}</body></html>", status=500,
                            content_type="text/html")
        if mode == "slow":
            time.sleep(2)
        return _json(json.dumps({"ok": True, "mode": mode}).encode())

    def _ban(self, request: Request, seen: Seen) -> Response:
        q = request.args.get("q", "")
        if "echo" in q:
            return Response(f"server error for {seen.headers.get('Authorization')} {seen.query}", status=500,
                            content_type="text/plain")
        if "html" in q:
            return Response("<html><body>Please log in</body></html>", content_type="text/html")
        if "invalid" in q:
            return _json(b'{"type": "FeatureCollection", "features": [')
        if "slow" in q:
            time.sleep(2)
        return _json(BAN_ANSWER)

    def requests_to(self, prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(prefix)]


def _json(body: bytes) -> Response:
    return Response(body, content_type="application/json")


def main() -> None:  # pragma: no cover - run by bench/load.py and the load test in a process of its own
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would flood the bench
    with serve_wsgi(Upstream(record=False)) as url:
        print(url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
