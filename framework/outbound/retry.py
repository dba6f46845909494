"""When and how long to wait before retrying an outbound request.

Retried: connection errors (the request may not have reached the server) and the
answers 429, 502, 503, 504 — only when a retry cannot do the work twice: idempotent
methods, or any method carrying an ``Idempotency-Key``. A connection that was never
established is retried for every method, since nothing was sent. Read timeouts are
not retried: a slow server will not answer faster, and the caller waits already.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

import requests
import tenacity
from urllib3.exceptions import NewConnectionError

from framework.outbound import deadline as deadlines
from framework.outbound.policy import IDEMPOTENT_METHODS, RETRY_STATUSES, OutboundPolicy


class RetryAfterTooLong(Exception):
    """The server asked to wait longer than ``retry_after_max``: do not retry."""


def never_sent(exc: BaseException) -> bool:
    """True when the connection was never established (so the request never left)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, NewConnectionError | ConnectionRefusedError):
            return True
        nxt = getattr(cur, "reason", None) or (cur.args[0] if cur.args else None)
        cur = nxt if isinstance(nxt, BaseException) else cur.__cause__ or cur.__context__
    return False


def may_retry(method: str, has_key: bool) -> bool:
    return method.upper() in IDEMPOTENT_METHODS or has_key


def retry_after(response: requests.Response, now: dt.datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delay-seconds or HTTP-date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class _OutOfTime(tenacity.stop.stop_base):
    """Stop when the call's total deadline (it covers retries and the waits between
    them) has passed or would pass during the next wait."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        current = deadlines.current.get()
        return current is not None and (current.passed() or current.remaining() <= retry_state.upcoming_sleep)


def make_retrying(policy: OutboundPolicy, method: str, has_key: bool, *,
                  sleep: Any = None) -> tenacity.Retrying:
    """A tenacity controller for one call, following ``policy``."""
    allowed = may_retry(method, has_key)

    def should_retry(state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            exc = outcome.exception()
            if isinstance(exc, requests.ReadTimeout):
                return False
            return isinstance(exc, requests.ConnectionError | requests.ConnectTimeout) and (
                allowed or never_sent(exc))
        response = outcome.result()
        if not (allowed and response.status_code in RETRY_STATUSES):
            return False
        asked = retry_after(response)
        return asked is None or asked <= policy.retry_after_max

    backoff = tenacity.wait_exponential_jitter(multiplier=policy.retry_backoff,
                                               max=policy.retry_backoff_max,
                                               jitter=policy.retry_backoff)

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after(outcome.result())
            if asked is not None:
                return min(asked, policy.retry_after_max)
        return float(backoff(state))

    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(
        retry=should_retry,
        stop=tenacity.stop_after_attempt(policy.retries + 1) | _OutOfTime(),
        wait=wait,
        reraise=True,
        # When retries run out on an answer (a 503…), hand that answer back.
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        **kwargs,
    )
