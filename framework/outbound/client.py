"""The HTTP client a binding uses to reach its business server.

Every call has a total deadline — connection, headers and the whole answer, retries
included (:mod:`.deadline`) — and a size cap on the answer (:mod:`.answer`); it
verifies TLS (a custom CA bundle may be given; turning verification off is refused)
and follows redirects only to the same origin, never re-sending a body
(:mod:`.redirects`). Transient failures are retried following the binding's
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
from typing import Any

import requests
import tenacity

from framework.errors import ConfigError, RaccordError, UpstreamError, UpstreamTimeout
from framework.journal import host_of, mask_secrets
from framework.outbound import deadline as deadlines
from framework.outbound.answer import On404, decode_json, read_body
from framework.outbound.breaker import CircuitBreaker
from framework.outbound.bulkhead import Bulkhead, default_size
from framework.outbound.journal_writer import JournalWriter
from framework.outbound.policy import IDEMPOTENT_METHODS, RETRY_STATUSES, OutboundPolicy
from framework.outbound.retry import make_retrying
from framework.outbound.session import BindingSession
from framework.outbound.transport import LeanAdapter

__all__ = ["OutboundHTTP", "decode_json"]

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
        threads: int = 4,
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
        # The binding's share of a process's concurrency (held by Raccord.invoke).
        self.bulkhead = Bulkhead(binding_id, self.policy.max_concurrency or default_size(threads))

    @property
    def session(self) -> requests.Session:
        # Built on first use: 46+ bindings are constructed at start, most idle for a while.
        if self._session is None:
            # trust_env is off: proxies come from configuration, not the environment
            # (scanning proxy variables costs 0.2–0.3 ms per call), and the session
            # prepares requests without requests' per-call merges (session.py).
            session = BindingSession()
            session.proxies = self.policy.proxies
            session.verify = self.policy.ca_bundle or True
            session.headers["User-Agent"] = "raccord/0.1"
            # tenacity does the retrying; urllib3's own retries would hide attempts.
            adapter = LeanAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
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
        # The answer is read here, whole and capped, under the deadline: a connector
        # asking for a stream would read it after the deadline is gone.
        kwargs.pop("stream", None)
        if idempotency_key:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Idempotency-Key": idempotency_key}
        method = method.upper()
        probing = _probing.get()
        if self.breaker is not None and not probing:
            self.breaker.before_call()
        started = time.perf_counter()
        response: requests.Response | None = None
        error: RaccordError | None = None
        deadline = deadlines.Deadline(self.policy.total_timeout)
        token = deadlines.current.set(deadline)
        deadlines.watchdog.watch(deadline)
        try:
            response = self._send(method, url, idempotency_key is not None, kwargs, deadline)
            if response.status_code >= 500 and not (accept is not None and accept(response)):
                error = UpstreamError(f"{host_of(url)} answered HTTP {response.status_code}")
        except RaccordError as exc:
            error = exc
        except BaseException:
            if self.breaker is not None and not probing:
                self.breaker.release_probe()
            raise
        finally:
            deadlines.watchdog.unwatch(deadline)
            deadlines.current.reset(token)
        self._account(method, url, response, error, started, probing)
        if error is not None:
            raise error
        assert response is not None
        return response

    def _send(self, method: str, url: str, keyed: bool, kwargs: dict[str, Any],
              deadline: deadlines.Deadline) -> requests.Response:
        allowed = method in IDEMPOTENT_METHODS or keyed
        retrying = self._retrying.get(allowed)
        if retrying is None:
            # Built once per client and kind (tenacity keeps per-call state thread-locally):
            # building one per call cost ~70 µs (bench/outbound_overhead.py).
            retrying = make_retrying(self.policy, method, keyed, sleep=lambda s: self.sleep(s))
            self._retrying[allowed] = retrying
        try:
            # The first attempt outside tenacity (its bookkeeping cost ~25 µs a call):
            # an answer no retry is asked for is returned as is; anything else — an
            # error, a 429/5xx — is replayed into tenacity as its first attempt, so
            # retry decisions, waits and attempt counts are tenacity's, unchanged.
            try:
                first = self._attempt(method, url, kwargs, deadline)
            except Exception as exc:
                return retrying(_replay(exc, self._attempt), method, url, kwargs, deadline)
            if first.status_code not in RETRY_STATUSES:
                return first
            return retrying(_replay(first, self._attempt), method, url, kwargs, deadline)
        except requests.RequestException as exc:
            if deadline.passed():
                raise UpstreamTimeout(f"{host_of(url)} did not send its whole answer within "
                                      f"{deadline.seconds:g} s (total_timeout)") from exc
            raise self._failure(url, exc) from exc

    def _attempt(self, method: str, url: str, kwargs: dict[str, Any],
                 deadline: deadlines.Deadline) -> requests.Response:
        """One try: send, then read the whole answer (capped) while the deadline holds."""
        remaining = max(0.001, deadline.remaining())
        connect, read = kwargs["timeout"] if isinstance(kwargs["timeout"], tuple) else (kwargs["timeout"],) * 2
        timeout = (min(connect, remaining), min(read, remaining))
        response = self.session.request(method, url, **{**kwargs, "timeout": timeout}, stream=True)
        read_body(response, self.policy.max_answer_bytes)
        if deadline.expired:
            # The watchdog cut the socket: what was read (headers cut short, a body
            # ending early) may parse, yet it is not the server's answer.
            raise requests.ReadTimeout("the call's total deadline passed")
        return response

    def _failure(self, url: str, exc: requests.RequestException) -> RaccordError:
        """The raccord error for what requests raised (host and port only, never user:password)."""
        host = host_of(url)
        if isinstance(exc, requests.ConnectTimeout):
            return UpstreamError(f"cannot reach {host}: no connection within {self.timeout[0]:g} s")
        if isinstance(exc, requests.Timeout):
            return UpstreamTimeout(f"{host} did not answer within {self.timeout[1]:g} s")
        if isinstance(exc, requests.exceptions.SSLError):
            return UpstreamError(
                f"{host} has a TLS certificate raccord cannot verify",
                hint="if the server uses a private authority, set ca_bundle to its CA certificate")
        if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
            return UpstreamError(f"{host} broke off its answer ({type(exc).__name__})")
        return UpstreamError(f"cannot reach {host}: {type(exc).__name__}")

    def _account(self, method: str, url: str, response: requests.Response | None,
                 error: RaccordError | None, started: float, probing: bool) -> None:
        """Feed the breaker (server failures only: a 4xx means it is up) and the journal."""
        duration_ms = (time.perf_counter() - started) * 1000
        from framework import metrics  # here: prometheus_client must not load before the fork

        metrics.outbound(self.instance, self.profile, response.status_code if response is not None else None,
                         duration_ms / 1000)
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
        HTML or malformed answer, NaN/Infinity or absurd nesting is an UpstreamError.
        ``**kwargs`` go to ``requests`` (``params``, ``headers``, ``timeout``…)."""
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


def _replay(first: requests.Response | Exception,
            attempt: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
    """``attempt``, whose first call gives back the outcome of an attempt already made."""
    pending = [first]

    def replaying(*args: Any) -> requests.Response:
        if pending:
            outcome = pending.pop()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return attempt(*args)

    return replaying


def _sent_url(response: requests.Response | None, url: str) -> str:
    """The URL as sent, query parameters included (``params=`` are not in ``url``)."""
    sent = response.request.url if response is not None and response.request is not None else None
    return sent or url
