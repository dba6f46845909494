"""A tiny WSGI app for tests of raccord's gunicorn worker alone (no territory):
``/`` answers at once, ``/slow?s=N`` after N seconds; both name the serving thread."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(urllib.parse.parse_qs(environ["QUERY_STRING"]).get("s", ["1"])[0]))
    body = f"{threading.get_ident()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
