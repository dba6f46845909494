"""The HTTP client a binding uses to reach its business server.

Every call has a timeout and verifies TLS (a custom CA bundle may be given, never
``verify=False``). Vendor failures are mapped to raccord's error tree here, so
connectors only see :class:`~framework.errors.RaccordError`.
"""

from __future__ import annotations

from typing import Any

import requests

from framework.errors import UpstreamError, UpstreamTimeout


class OutboundHTTP:
    def __init__(
        self,
        binding_id: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        ca_bundle: str | None = None,
    ) -> None:
        self.binding_id = binding_id
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Proxies come from configuration, not the environment: scanning proxy
        # variables costs 0.2–0.3 ms per call (design/PERFORMANCE-NOTES.md).
        self.session.trust_env = False
        self.session.verify = ca_bundle or True
        self.session.headers["User-Agent"] = "raccord/0.1"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request; raise UpstreamTimeout / UpstreamError on failure or 5xx."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.pop("verify", None)  # TLS verification is not the caller's to switch off
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise UpstreamTimeout(f"{_host(url)} did not answer within {self.timeout[1]:g} s") from exc
        except requests.RequestException as exc:
            raise UpstreamError(f"cannot reach {_host(url)}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise UpstreamError(f"{_host(url)} answered HTTP {response.status_code}")
        return response

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; an HTML or malformed answer is an UpstreamError."""
        response = self.request("GET", url, **kwargs)
        return decode_json(response)

    def close(self) -> None:
        self.session.close()


def decode_json(response: requests.Response) -> Any:
    url = response.request.url or ""
    if response.status_code >= 400:
        raise UpstreamError(f"{_host(url)} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        ctype = response.headers.get("Content-Type", "unknown")
        raise UpstreamError(
            f"{_host(url)} answered {ctype} instead of JSON",
            hint="check the service URL setting: it may point to a web page, not the API",
        ) from None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url
