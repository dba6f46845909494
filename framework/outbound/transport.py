"""The lean transport under a binding's session: requests' API over ``http.client``
pools, urllib3 only where it is needed.

requests' ``Session.send`` and ``HTTPAdapter.send`` redo per call what a binding
settles once: they parse the URL three times (pool key, proxy selection, path),
rebuild the urllib3 pool key and look the pool up, stat the CA bundle
(``cert_verify``), run the cookie jar over answers that set no cookie, dispatch empty
hook lists and walk a redirect generator for answers that are no redirect. Under them,
urllib3 builds per call a ``Retry`` and a ``Timeout``, its header dicts and its
``HTTPResponse`` wrapper; with a CA bundle, it also builds an SSL context and loads
the bundle for every new connection.

:meth:`LeanAdapter.send_direct` sends a production call over ``http.client``
(:mod:`.direct`): one pool of kept-alive connections per origin and CA bundle, built
once; the TLS context (verification on, hostname checked by OpenSSL: certifi's bundle
as requests uses, or the binding's ``ca_bundle``) built once per CA bundle for the
process (:func:`verifying_context`); the ``Response`` built as requests builds it, its
``raw`` a :class:`~.wire.WireAnswer` that ``iter_content`` streams (the size cap and
the deadline watchdog work as before: every socket is registered with the call's
deadline, :mod:`.deadline`). It is taken unless the call has a proxy, a client
certificate, verification off, a body that is a file or a generator, an
``Accept-Encoding`` offering br/zstd, or a timeout that is no number or pair.

Those go through :class:`LeanAdapter` as requests' ``HTTPAdapter`` — its ``send``,
``urlopen`` call and error mapping are requests' own, unchanged — whose per-call
helpers are cheap: one urllib3 pool per origin, built once, with its own TLS context
per CA bundle (urllib3 matches the hostname itself); the path from the prepared URL
without re-parsing it; the cookie pass only when a cookie is set. A proxy or a client
certificate goes through requests' own helpers.

:func:`lean_send` is ``Session.send`` without the no-ops. It is taken only when the
transport is not mocked — ``responses`` patches ``HTTPAdapter.send``,
``requests_mock`` swaps ``get_adapter``, a connector may mount its own adapter — and
the request has no response hooks; otherwise requests' own ``Session.send`` runs.
Redirects are resolved by the session, so the redirect guard (:mod:`.redirects`)
applies, each hop sent the lean way again.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import threading
from collections.abc import Mapping
from datetime import timedelta
from ssl import SSLContext, SSLError
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import DEFAULT_CA_BUNDLE_PATH, HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.sessions import preferred_clock
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, select_proxy
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url
from urllib3.util.ssl_ import create_urllib3_context

from framework.outbound import direct
from framework.outbound.deadline import DeadlineAdapter, _Pool, _TLSPool


def _requests_own_send() -> Any:
    send = HTTPAdapter.send
    # Imported while a mock is active (a test importing raccord lazily under
    # @responses.activate)? Then the lean path is never taken.
    return send if getattr(send, "__module__", None) == "requests.adapters" else None


#: requests' own ``HTTPAdapter.send`` as imported: when ``HTTPAdapter.send`` is not
#: this function any more, someone mocks the transport (``responses`` does).
REQUESTS_SEND = _requests_own_send()
#: Origins (scheme://host:port) one binding's adapter keeps a pool for; past that the
#: oldest pool is closed. A binding talks to one or two servers.
MAX_POOLS = 32
_UNKNOWN: Any = object()  # an origin not seen yet (None: one requests' helpers handle)
_SEND_KWARGS = frozenset({"stream", "timeout", "verify", "cert", "proxies", "allow_redirects"})


class _LeanPool(_Pool):
    """A pool of the lean path (its TLS settings are fixed when it is built)."""


class _LeanTLSPool(_TLSPool):
    """A pool of the lean path (its TLS settings are fixed when it is built)."""


_LEAN_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _LeanPool, "https": _LeanTLSPool}


class LeanAdapter(DeadlineAdapter):
    """The binding's adapter: requests' ``HTTPAdapter.send`` over per-origin pools
    resolved once (see the module's docstring)."""

    def __init__(self, pool_connections: int = 10, pool_maxsize: int = 10, max_retries: int = 0,
                 pool_block: bool = False) -> None:
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize,
                         max_retries=max_retries, pool_block=pool_block)
        self._pool_kwargs: dict[str, Any] = {"maxsize": pool_maxsize, "block": pool_block}
        self._pools: dict[tuple[str, bool | str], HTTPConnectionPool | None] = {}
        self._contexts: dict[str, SSLContext | None] = {}
        self._direct: dict[tuple[str, bool | str], direct.DirectPool | None] = {}
        self._maxsize = pool_maxsize
        self._lock = threading.Lock()
        #: Whether eligible requests skip urllib3 (off: requests' HTTPAdapter.send over
        #: the lean urllib3 pools, as before the direct transport; the benchmark's "before").
        self.direct = True

    def send_direct(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
                    verify: Any = True, cert: Any = None,
                    proxies: Mapping[str, str] | None = None) -> requests.Response | None:
        """The request sent over ``http.client`` (:mod:`.direct`), or None (nothing sent)
        when requests' ``HTTPAdapter.send`` must: a proxy, a client certificate,
        verification off, a body that is no bytes or str (a file, a generator), an
        unusual timeout, a scheme or URL requests handles or reports itself."""
        url = request.url
        body = request.body
        if not self.direct or cert or not verify or not isinstance(url, str):
            return None
        if isinstance(body, str):
            body = body.encode()  # as urllib3 encodes a str body
        elif not (body is None or isinstance(body, bytes)):
            return None
        limits = _timeouts(timeout)
        origin = _origin(url)
        if limits is None or origin is None or (proxies and select_proxy(url, proxies)):
            return None
        if not _decodable(request.headers.get("Accept-Encoding")):
            return None  # br or zstd offered (their modules installed): urllib3 decodes them
        key = (origin, verify)
        pool = self._direct.get(key, _UNKNOWN)
        if pool is _UNKNOWN:
            pool = self._direct_pool(key)
        if pool is None:
            return None
        path = url[len(origin):].partition("#")[0] or "/"
        return direct.send(pool, request, path, body, limits, self)

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: Mapping[str, str] | None = None,
                                        cert: Any = None) -> HTTPConnectionPool:
        url = request.url
        origin = _origin(url) if isinstance(url, str) and not cert and verify else None
        if origin is not None and not (proxies and select_proxy(url, proxies)):  # type: ignore[arg-type]
            key = (origin, verify)
            pool = self._pools.get(key, _UNKNOWN)
            if pool is _UNKNOWN:
                pool = self._pool(key)
            if pool is not None:
                return pool  # type: ignore[no-any-return]
        return super().get_connection_with_tls_context(  # type: ignore[return-value]
            request, verify, proxies=proxies, cert=cert)

    def cert_verify(self, conn: Any, url: Any, verify: Any, cert: Any) -> None:
        if not isinstance(conn, _LeanPool | _LeanTLSPool):
            # requests' own: it sets the pool's CA bundle, loaded again per connection.
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]

    def request_url(self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        url = request.url
        origin = _origin(url) if isinstance(url, str) else None
        if origin is None or (proxies and select_proxy(url, proxies)):  # type: ignore[arg-type]
            return super().request_url(request, proxies)
        return url[len(origin):].partition("#")[0] or "/"  # type: ignore[index]  # path_url

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """requests' own, but the cookie jar runs only over answers setting cookies."""
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        url = req.url
        response.url = url.decode("utf-8") if isinstance(url, bytes) else url  # type: ignore[assignment]
        if sets_cookies(resp):
            extract_cookies_to_jar(response.cookies, req, resp)  # type: ignore[no-untyped-call]
        response.request = req
        response.connection = self
        return response

    def _pool(self, key: tuple[str, bool | str]) -> HTTPConnectionPool | None:
        """The pool for an origin and CA bundle, built once; None (remembered) for what
        requests' own helpers must handle or report."""
        origin, verify = key
        with self._lock:
            if key in self._pools:
                return self._pools[key]
            pool = self._build(origin, verify)
            if len(self._pools) >= MAX_POOLS:
                oldest = self._pools.pop(next(iter(self._pools)))
                if oldest is not None:
                    oldest.close()
            self._pools[key] = pool
            return pool

    def _build(self, origin: str, verify: bool | str) -> HTTPConnectionPool | None:
        try:
            parsed = parse_url(origin)
        except LocationParseError:
            return None  # requests raises its InvalidURL
        scheme = (parsed.scheme or "").lower()
        if scheme not in _LEAN_POOLS or not parsed.host:
            return None
        kwargs = dict(self._pool_kwargs)
        if scheme == "https":
            context = self._context(verify)
            if context is None:
                return None
            # Verification whatever the context says: urllib3 sets the mode from
            # cert_reqs on every connection, and checks the hostname.
            kwargs.update(ssl_context=context, cert_reqs="CERT_REQUIRED")
        return _LEAN_POOLS[scheme](parsed.host, parsed.port, **kwargs)

    def _context(self, verify: bool | str) -> SSLContext | None:
        """One verifying SSL context per CA bundle; None when requests must report the
        bundle missing or unreadable."""
        location = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
        if location not in self._contexts:
            context = create_urllib3_context()  # CERT_REQUIRED, hostname checked
            assert context is not None
            self._contexts[location] = _with_bundle(context, location)
        return self._contexts[location]

    def _direct_pool(self, key: tuple[str, bool | str]) -> direct.DirectPool | None:
        """The direct pool for an origin and CA bundle, built once; None (remembered)
        for what requests' own path must handle or report."""
        with self._lock:
            if key in self._direct:
                return self._direct[key]
            pool = self._build_direct(*key)
            if len(self._direct) >= MAX_POOLS:
                oldest = self._direct.pop(next(iter(self._direct)))
                if oldest is not None:
                    oldest.close()
            self._direct[key] = pool
            return pool

    def _build_direct(self, origin: str, verify: bool | str) -> direct.DirectPool | None:
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return None  # requests raises its InvalidURL
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host or not host.isascii():
            return None  # requests IDNA-encodes hosts: anything else is for it to report
        context = None
        if scheme == "https":
            context = verifying_context(verify)
            if context is None:
                return None
        return direct.DirectPool(host, port or (443 if context else 80), context, self._maxsize)

    def close(self) -> None:
        super().close()
        with self._lock:
            pools: list[Any] = [*self._pools.values(), *self._direct.values()]
            self._pools, self._direct = {}, {}
        for pool in pools:
            if pool is not None:
                pool.close()


def _origin(url: str) -> str | None:
    """``scheme://netloc`` of a prepared URL (requests always gives it a path)."""
    start = url.find("://")
    end = url.find("/", start + 3) if start > 0 else -1
    return url[:end] if end > 0 else None


def _timeouts(timeout: Any) -> tuple[float | None, float | None] | None:
    """(connect, read) as requests reads ``timeout``; None for what requests must
    check or convert itself (a urllib3 ``Timeout``, a malformed tuple)."""
    if timeout is None or isinstance(timeout, int | float):
        return timeout, timeout
    if isinstance(timeout, tuple) and len(timeout) == 2 and all(
            t is None or isinstance(t, int | float) for t in timeout):
        return timeout
    return None


@functools.lru_cache(maxsize=64)
def _decodable(accept: str | None) -> bool:
    """Whether every encoding ``Accept-Encoding`` offers is one the direct path decodes
    (requests offers br and zstd when brotli or zstandard is installed)."""
    if accept is None:
        return True
    offered = {part.partition(";")[0].strip().lower() for part in accept.split(",")}
    return offered <= {"gzip", "x-gzip", "deflate", "identity", ""}


_VERIFYING: dict[str, ssl.SSLContext | None] = {}
_VERIFYING_LOCK = threading.Lock()


def verifying_context(verify: bool | str) -> ssl.SSLContext | None:
    """The process's SSL context for a CA bundle (certifi's for ``True``), built once:
    certificate and hostname checked by OpenSSL (http.client does not match names
    itself, unlike urllib3). None when the bundle cannot be loaded: requests' own path
    then reports it."""
    location = DEFAULT_CA_BUNDLE_PATH if verify is True else str(verify)
    with _VERIFYING_LOCK:
        if location not in _VERIFYING:
            context = create_urllib3_context()
            assert context is not None
            context.check_hostname = True  # create_urllib3_context leaves it to urllib3
            _VERIFYING[location] = _with_bundle(context, location)
        return _VERIFYING[location]


def _with_bundle(context: SSLContext, location: str) -> SSLContext | None:
    """``context`` trusting the CA bundle (file or directory) at ``location``; None when
    it cannot be loaded (requests' own path then reports it)."""
    try:
        if os.path.isdir(location):
            context.load_verify_locations(capath=location)
        else:
            context.load_verify_locations(cafile=location)
    except (OSError, SSLError):
        return None
    return context


def sets_cookies(answer: Any) -> bool:
    headers = getattr(answer, "headers", None)
    return headers is None or "Set-Cookie" in headers or "Set-Cookie2" in headers


def lean_send(session: requests.Session, request: requests.PreparedRequest,
              kwargs: dict[str, Any]) -> requests.Response | None:
    """requests' ``Session.send`` without its no-ops, or None (nothing sent) when
    requests' own must run: a mocked transport, someone else's adapter, hooks.

    Same semantics: the session's stream/verify/cert/proxies as defaults, the adapter's
    ``send``, elapsed time, the session's cookies updated, redirects resolved by the
    session, the content read unless streaming."""
    if REQUESTS_SEND is None or HTTPAdapter.send is not REQUESTS_SEND:
        return None  # responses (or another mock) patches the transport
    if not _SEND_KWARGS.issuperset(kwargs) or request.hooks.get("response"):
        return None
    url = request.url
    if not isinstance(url, str):
        return None
    adapter = session.get_adapter(url)  # requests_mock patches get_adapter
    if not isinstance(adapter, LeanAdapter) or type(adapter).send is not REQUESTS_SEND:
        return None
    stream, verify, cert, proxies = (kwargs.get(k) for k in ("stream", "verify", "cert", "proxies"))
    sent: dict[str, Any] = {"stream": session.stream if stream is None else stream,
                            "timeout": kwargs.get("timeout"),
                            "verify": session.verify if verify is None else verify,
                            "cert": session.cert if cert is None else cert,
                            "proxies": dict(session.proxies) if proxies is None else proxies}
    started = preferred_clock()
    # Not ``or``: a Response is falsy when its status is 4xx/5xx.
    direct_response = adapter.send_direct(request, **sent)
    response = adapter.send(request, **sent) if direct_response is None else direct_response
    response.elapsed = timedelta(seconds=preferred_clock() - started)
    if sets_cookies(response.raw):
        extract_cookies_to_jar(session.cookies, request, response.raw)  # type: ignore[no-untyped-call]
    if response.is_redirect:
        response = _redirected(session, response, request, kwargs.get("allow_redirects", True), sent)
    if not sent["stream"]:
        response.content  # noqa: B018 - reads the body, as requests does
    return response


def _redirected(session: requests.Session, response: requests.Response,
                request: requests.PreparedRequest, allow_redirects: bool,
                sent: dict[str, Any]) -> requests.Response:
    """The tail of requests' ``Session.send`` for a redirect answer."""
    if allow_redirects:
        history = list(session.resolve_redirects(response, request, **sent))
        if history:
            history.insert(0, response)
            response = history.pop()
            response.history = history
    else:
        with contextlib.suppress(StopIteration):
            response._next = next(  # type: ignore[attr-defined]
                session.resolve_redirects(response, request, yield_requests=True, **sent))
    return response
