"""Redirects a binding's session may follow: same origin, and never with a body.

``requests`` follows redirects to any host, keeping custom credential headers
(``X-API-Key``…) and, on 307/308, re-sending the request body there: a push would be
delivered to whoever the redirect names, and reported done although the real server
never got it. Here a redirect is followed only to the same scheme, host and port, and
a 307/308 of a request carrying a body is not followed at all: the call fails (502),
so a queued push stays queued and is retried.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from framework.errors import UpstreamError
from framework.journal import host_of

MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectRefused(UpstreamError):
    """A redirect raccord does not follow (another origin, or a body to re-send)."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


class GuardedSession(requests.Session):
    """A session that refuses cross-origin redirects and body re-sends."""

    def __init__(self) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is not None:
            check_redirect(resp, target)
        return target

    def resolve_redirects(self, resp: requests.Response, req: requests.PreparedRequest,
                          *args: Any, yield_requests: bool = False, **kwargs: Any) -> Any:
        if yield_requests:
            # allow_redirects=False: requests only computes ``response.next`` here; the
            # connector sees the 3xx itself and nothing is sent.
            return iter(())
        return super().resolve_redirects(resp, req, *args, **kwargs)


def check_redirect(resp: requests.Response, target: str) -> None:
    """Raise RedirectRefused unless following ``resp`` to ``target`` is harmless."""
    here = resp.url or (resp.request.url if resp.request is not None else "") or ""
    there = urljoin(here, target)
    request = resp.request
    if origin(there) != origin(here):
        resp.close()
        raise RedirectRefused(
            f"{host_of(here)} answered HTTP {resp.status_code} redirecting to another server "
            f"({host_of(there)}); raccord never follows a redirect to another host",
            hint="set the service URL setting to the server's real address")
    has_body = request is not None and (request.body is not None or request.method in ("POST", "PUT", "PATCH"))
    if resp.status_code in (307, 308) and has_body:
        resp.close()
        raise RedirectRefused(
            f"{host_of(here)} answered HTTP {resp.status_code} to a {request.method if request else ''} "
            "redirecting it elsewhere; raccord never re-sends a request body on a redirect",
            hint="set the service URL setting to the address the server redirects to")
