"""The HTTP client a binding uses to reach its business server.

Every call has a timeout and verifies TLS (a custom CA bundle may be given; turning
verification off is refused). Transient failures are retried following the binding's
:class:`~framework.outbound.policy.OutboundPolicy`, a circuit breaker stops calling a
server that keeps failing, and every request is journaled with its URL redacted.
Vendor failures are mapped to raccord's error tree here, so connectors only see
:class:`~framework.errors.RaccordError`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter

from framework.errors import ConfigError, NotFound, RaccordError, UpstreamError, UpstreamTimeout
from framework.journal import mask_secrets
from framework.outbound.breaker import CircuitBreaker
from framework.outbound.journal_writer import JournalWriter
from framework.outbound.policy import IDEMPOTENT_METHODS, OutboundPolicy
from framework.outbound.retry import make_retrying

#: What a JSON helper does with a 404: an upstream error (502), NotFound (404), or None.
On404 = Literal["error", "not_found", "none"]

# Set while a health check runs: its calls pass an open breaker (they are the probe)
# and do not count in it (the health check records one outcome for all of them).
_probing: contextvars.ContextVar[bool] = contextvars.ContextVar("raccord_probing", default=False)


class OutboundHTTP:
    def __init__(
        self,
        binding_id: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        ca_bundle: str | None = None,
        policy: OutboundPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        journal: JournalWriter | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.binding_id = binding_id
        # The binding's secret values, masked wherever a URL is journaled: a vendor may
        # take a credential in a query parameter whose name is not a known secret one.
        self._secrets = secrets
        self.instance, _, self.profile = binding_id.partition("/")
        self.policy = policy or OutboundPolicy(connect_timeout=connect_timeout,
                                               read_timeout=read_timeout, ca_bundle=ca_bundle)
        self.timeout = self.policy.timeout
        self.breaker = breaker
        self.journal = journal
        self._session: requests.Session | None = None
        self.sleep = time.sleep  # tests replace it to observe waits
        self._retrying: dict[bool, tenacity.Retrying] = {}

    @property
    def session(self) -> requests.Session:
        # Built on first use: 46+ bindings are constructed at start, most idle for a while.
        if self._session is None:
            session = requests.Session()
            # Proxies come from configuration, not the environment: scanning proxy
            # variables costs 0.2–0.3 ms per call (design/PERFORMANCE-NOTES.md).
            session.trust_env = False
            session.proxies = self.policy.proxies
            session.verify = self.policy.ca_bundle or True
            session.headers["User-Agent"] = "raccord/0.1"
            # tenacity does the retrying; urllib3's own retries would hide attempts.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        return self._session

    def request(self, method: str, url: str, *, idempotency_key: str | None = None,
                accept: Callable[[requests.Response], bool] | None = None,
                **kwargs: Any) -> requests.Response:
        """Send a request and return the response, whatever its 1xx–4xx status (the
        connector decides what a 4xx means; the JSON helpers make it an UpstreamError).

        A 5xx is an UpstreamError (502 to the caller), no connection an UpstreamError,
        no answer in time an UpstreamTimeout (504), an open circuit Unavailable (503).
        Retries (connection errors, 429, 502, 503, 504; ``Retry-After`` honoured up to
        ``retry_after_max``) happen only for idempotent methods (GET, HEAD, OPTIONS, PUT,
        DELETE) or when ``idempotency_key`` is given: it is sent as ``Idempotency-Key``
        and makes any method safe to retry. ``accept`` says which 5xx answers are a
        protocol's normal replies (a SOAP fault comes with HTTP 500): those are
        returned, and count as the server being up."""
        verify = kwargs.pop("verify", True)
        if verify is False:
            raise ConfigError(f"{self.binding_id}: TLS verification cannot be turned off",
                              hint="give the server's CA certificate in the ca_bundle setting")
        if isinstance(verify, str) and verify:
            kwargs["verify"] = verify  # a CA bundle for this call: verification stays on
        # Any other value (None, "", 0…) keeps the session's verification: requests
        # reads a falsy verify such as "" (an unset ca_bundle setting) as "do not verify".
        if kwargs.get("timeout") is None:  # requests reads None as "wait forever"
            kwargs["timeout"] = self.timeout
        if idempotency_key:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Idempotency-Key": idempotency_key}
        method = method.upper()
        probing = _probing.get()
        if self.breaker is not None and not probing:
            self.breaker.before_call()
        started = time.perf_counter()
        response: requests.Response | None = None
        error: RaccordError | None = None
        try:
            response = self._send(method, url, idempotency_key is not None, kwargs)
            if response.status_code >= 500 and not (accept is not None and accept(response)):
                error = UpstreamError(f"{_host(url)} answered HTTP {response.status_code}")
        except RaccordError as exc:
            error = exc
        except BaseException:
            if self.breaker is not None and not probing:
                self.breaker.release_probe()
            raise
        self._account(method, url, response, error, started, probing)
        if error is not None:
            raise error
        assert response is not None
        return response

    def _send(self, method: str, url: str, keyed: bool, kwargs: dict[str, Any]) -> requests.Response:
        allowed = method in IDEMPOTENT_METHODS or keyed
        retrying = self._retrying.get(allowed)
        if retrying is None:
            # Built once per client and kind (tenacity keeps per-call state thread-locally):
            # building one per call cost ~70 µs (bench/outbound_overhead.py).
            retrying = make_retrying(self.policy, method, keyed, sleep=lambda s: self.sleep(s))
            self._retrying[allowed] = retrying
        try:
            return retrying(self.session.request, method, url, **kwargs)
        except requests.ConnectTimeout as exc:
            raise UpstreamError(f"cannot reach {_host(url)}: no connection within "
                                f"{self.timeout[0]:g} s") from exc
        except requests.Timeout as exc:
            raise UpstreamTimeout(f"{_host(url)} did not answer within {self.timeout[1]:g} s") from exc
        except requests.exceptions.SSLError as exc:
            raise UpstreamError(
                f"{_host(url)} has a TLS certificate raccord cannot verify",
                hint="if the server uses a private authority, set ca_bundle to its CA certificate",
            ) from exc
        except requests.RequestException as exc:
            raise UpstreamError(f"cannot reach {_host(url)}: {type(exc).__name__}") from exc

    def _account(self, method: str, url: str, response: requests.Response | None,
                 error: RaccordError | None, started: float, probing: bool) -> None:
        """Feed the breaker (server failures only: a 4xx means it is up) and the journal."""
        duration_ms = (time.perf_counter() - started) * 1000
        if self.breaker is not None and not probing:
            if error is None:
                self.breaker.success()
            else:
                self.breaker.failure(error.message)
        if self.journal is not None:
            self.journal.record(instance=self.instance, profile=self.profile, method=method,
                                url=self._masked(_sent_url(response, url)),
                                status=response.status_code if response is not None else None,
                                duration_ms=round(duration_ms, 3),
                                err_class=error.err_class if error else None,
                                error=error.message if error else None)

    def _masked(self, url: str) -> str:
        return mask_secrets(url, self._secrets)

    def get_json(self, url: str, *, on_404: On404 = "error", **kwargs: Any) -> Any:
        """GET ``url`` and decode its JSON answer.

        2xx: the decoded JSON. 3xx/4xx: :class:`~framework.errors.UpstreamError` (502 to
        the caller: the business server refused what raccord sent, usually a setting to
        fix), except a 404 with ``on_404="not_found"`` (raises
        :class:`~framework.errors.NotFound`, a 404 to the caller: "no such ticket") or
        ``on_404="none"`` (returns ``None``). 5xx, connection errors: retried (GET is
        idempotent), then UpstreamError; no answer in time: UpstreamTimeout (504). An
        HTML or malformed answer is an UpstreamError. ``**kwargs`` go to ``requests``
        (``params``, ``headers``, ``timeout``…)."""
        response = self.request("GET", url, **kwargs)
        return decode_json(response, on_404)

    def post_json(self, url: str, json: Any = None, *, idempotency_key: str | None = None,
                  on_404: On404 = "error", **kwargs: Any) -> Any:
        """POST ``json`` to ``url`` and decode the JSON answer (empty answer: ``None``).

        Statuses map as for :meth:`get_json`. A POST is not retried unless it carries an
        ``idempotency_key`` (sent as ``Idempotency-Key``; pass ``run.idempotency_key``
        from a queued job), which makes a retry safe for a server that honours it."""
        response = self.request("POST", url, json=json, idempotency_key=idempotency_key, **kwargs)
        if response.status_code < 400 and not response.content:
            return None
        return decode_json(response, on_404)

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Calls inside pass an open breaker and are not counted in it (health checks)."""
        token = _probing.set(True)
        try:
            yield
        finally:
            _probing.reset(token)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def decode_json(response: requests.Response, on_404: On404 = "error") -> Any:
    """The JSON of a 2xx answer; see :meth:`OutboundHTTP.get_json` for the rest."""
    url = response.request.url or ""
    if response.status_code == 404 and on_404 != "error":
        if on_404 == "none":
            return None
        raise NotFound(f"{_host(url)} has no such object (HTTP 404)")
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


def _sent_url(response: requests.Response | None, url: str) -> str:
    """The URL as sent, query parameters included (``params=`` are not in ``url``)."""
    sent = response.request.url if response is not None and response.request is not None else None
    return sent or url


def _host(url: str) -> str:
    # Host and port only: never user:password from the URL in an error message.
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host
