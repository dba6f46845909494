"""The ``requests.Session`` of one binding, with a lean request path.

Connectors see plain requests (``self.http.session`` is a ``requests.Session``, and
``responses`` mocks it as usual), but ``Session.request`` does per-call work a binding
never needs: it merges the environment (proxy variables, netrc, CA bundle variables)
and every session setting into every request, and requests 2.34's merges go through
runtime-checkable ``Protocol`` isinstance checks that cost more than the rest of the
preparation (bench/outbound_overhead.py). A binding's environment is resolved once,
when its session is built (``trust_env`` off; proxies and CA bundle from its settings),
so here a request is prepared from the call's own arguments and the session's fixed
headers, and sent with the session's settings as they are. A URL is parsed, validated
and requoted by requests once (per session, the first time it is called); its query
parameters are appended to that. Sending goes the lean way too (transport.py: over
``http.client`` pools, urllib3 only for proxies, client certificates and streamed bodies).

Whatever this path does not handle (session-level params, auth or hooks, per-call
cookies or hooks, ``trust_env`` turned back on) goes through requests' own
``Session.request``, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.structures import CaseInsensitiveDict

from framework.outbound.redirects import GuardedSession
from framework.outbound.transport import lean_send

#: URLs whose preparation a session keeps (cleared when full): a binding calls a few
#: endpoints, whose URLs differ by their query parameters more often than their path.
URL_CACHE = 256


class BindingSession(GuardedSession):
    def __init__(self) -> None:
        super().__init__()
        # Proxies and CA bundles come from the binding's settings, never the environment.
        self.trust_env = False
        self._prepared_urls: dict[str, str] = {}

    def request(self, method: str | bytes, url: str | bytes, params: Any = None, data: Any = None,
                headers: Any = None, cookies: Any = None, files: Any = None, auth: Any = None,
                timeout: Any = None, allow_redirects: bool = True, proxies: Any = None, hooks: Any = None,
                stream: bool | None = None, verify: Any = None, cert: Any = None,
                json: Any = None) -> requests.Response:
        if self.trust_env or cookies or hooks or self.params or self.auth is not None or any(self.hooks.values()):
            return super().request(method, url, params=params, data=data, headers=headers, cookies=cookies,
                                   files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
                                   proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert, json=json)
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        self._prepare_url(prepared, url, params)
        prepared.prepare_headers(self._headers(headers))
        if len(self.cookies):  # cookies the server set earlier in this session
            prepared.prepare_cookies(merge_cookies(RequestsCookieJar(), self.cookies))  # type: ignore[no-untyped-call]
        else:
            prepared._cookies = RequestsCookieJar()  # type: ignore[attr-defined]
        prepared.prepare_body(data, files, json)
        prepared.prepare_auth(auth, url)  # includes user:password from the URL
        return self.send(prepared, timeout=timeout, allow_redirects=allow_redirects,
                         proxies=self._proxies(proxies),
                         stream=self.stream if stream is None else stream,
                         verify=self.verify if verify is None else verify,
                         cert=self.cert if cert is None else cert)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # Straight to the binding's http.client pools (transport.py, direct.py) unless
        # the transport is mocked or the call needs what only requests' own send does.
        response = lean_send(self, request, kwargs)
        return super().send(request, **kwargs) if response is None else response

    def _prepare_url(self, prepared: requests.PreparedRequest, url: str | bytes, params: Any) -> None:
        """requests' ``prepare_url``, its parse of the URL (validation, IDNA, requoting)
        done once per URL a connector calls, the query parameters appended to that.

        Exact where it is used: the parameters are then urlencoded here (nothing for
        requoting to change), and a URL with a ``%`` (requests may requote its whole
        result differently when an escape is invalid) is prepared by requests."""
        encoded = _encode_params(params)
        if not isinstance(url, str) or "%" in url or not (params is None or isinstance(params, Mapping)):
            prepared.prepare_url(url, encoded)
            return
        base = self._prepared_urls.get(url)
        if base is None:
            prepared.prepare_url(url, None)  # raises what requests raises for this URL
            base = prepared.url
            if not isinstance(base, str) or not base.startswith(("http://", "https://")):
                prepared.prepare_url(url, encoded)  # requests leaves other schemes as given
                return
            if len(self._prepared_urls) >= URL_CACHE:
                self._prepared_urls.clear()
            self._prepared_urls[url] = base
        if not encoded:
            prepared.url = base
            return
        head, mark, fragment = base.partition("#")
        prepared.url = f"{head}{'&' if '?' in head else '?'}{encoded}{mark}{fragment}"

    def _headers(self, headers: Any) -> Any:
        if not headers:
            return self.headers  # prepare_headers copies it
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(self.headers)
        merged.update(headers)
        for name in [k for k, v in merged.items() if v is None]:  # None removes a header
            del merged[name]
        return merged

    def _proxies(self, proxies: Any) -> dict[str, str]:
        if not proxies:
            return dict(self.proxies)
        merged = {**self.proxies, **proxies}
        return {k: v for k, v in merged.items() if v is not None}


def _encode_params(params: Any) -> Any:
    """Query parameters encoded as requests would (a mapping of values or lists of
    values, None left out), without its Protocol checks; anything else as given."""
    if not isinstance(params, Mapping):
        return params
    pairs: list[tuple[Any, Any]] = []
    for key, values in params.items():
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            values = [values]
        for value in values:
            if value is not None:
                pairs.append((key.encode("utf-8") if isinstance(key, str) else key,
                              value.encode("utf-8") if isinstance(value, str) else value))
    return urlencode(pairs, doseq=True)
