"""A circuit breaker per binding: stop calling a business server that keeps failing.

Closed → (``threshold`` consecutive failures) → open: calls fail at once with
:class:`~framework.errors.Unavailable`, naming since when and why → after
``reset_seconds``, half-open: ONE probe call goes through; its success closes the
circuit, its failure opens it again for another ``reset_seconds``.

State changes are reported to a listener (the binding's availability row), never
every call; a report the listener could not record (the database busy) is made again
by the next call that finds the circuit open, so the row does not stay "up" while
this process refuses every call. The breaker is per process: each gateway or worker process learns on its
own, and they share what they learn through the availability table.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Literal

from framework.errors import Unavailable

State = Literal["closed", "open", "half_open"]
#: listener(status "up"|"down", since, reason, consecutive failures) → False when it
#: could not record it (None or True: recorded).
Listener = Callable[[str, dt.datetime, str | None, int], bool | None]


class CircuitBreaker:
    def __init__(self, name: str, *, threshold: int = 5, reset_seconds: float = 30.0,
                 listener: Listener | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.listener = listener
        self._clock = clock
        self._lock = threading.Lock()
        self.state: State = "closed"
        self.failures = 0
        self.down_since: dt.datetime | None = None  # wall time of the streak's first failure
        self.reason: str | None = None
        self._opened_at = 0.0
        self._probe_out = False
        self._reported: str | None = None  # last status sent to the listener

    def before_call(self) -> None:
        """Raise Unavailable while open; let exactly one probe through once reset is due."""
        with self._lock:
            if self.state == "closed":
                return
            waited = self._clock() - self._opened_at
            if self.state == "open" and waited >= self.reset_seconds:
                self.state, self._probe_out = "half_open", True
                return
            if self.state == "half_open" and not self._probe_out:
                self._probe_out = True
                return
            retry_in = max(0.0, self.reset_seconds - waited)
            since = self.down_since or dt.datetime.now(dt.UTC)
            reason = self.reason
        if self._reported != "down":
            self._report("down", reason)  # the opening's report was lost: again
        raise Unavailable(
            f"{self.name} is unavailable since {since:%Y-%m-%d %H:%M:%S} UTC: {self.reason}",
            hint=f"the circuit breaker opened after {self.failures} consecutive failures; the next "
                 f"attempt is in {retry_in:.0f} s; `raccord status` shows every binding",
        )

    def release_probe(self) -> None:
        """The call let through ended without an outcome (a bug, an interrupt): let the
        next call probe instead of refusing every call until the process restarts."""
        with self._lock:
            if self.state == "half_open":
                self._probe_out = False

    def success(self) -> None:
        with self._lock:
            self.state, self.failures, self._probe_out = "closed", 0, False
            self.down_since, self.reason = None, None
        self._report("up", None)

    def failure(self, reason: str) -> None:
        with self._lock:
            self.failures += 1
            self.reason = reason
            if self.down_since is None:
                self.down_since = dt.datetime.now(dt.UTC)
            if self.state == "half_open" or self.failures >= self.threshold:
                self.state, self._opened_at, self._probe_out = "open", self._clock(), False
            opened = self.state == "open"
        if opened:
            self._report("down", reason)

    def mark_down(self, reason: str) -> None:
        """Record a failed health check: availability goes down, the count grows by one."""
        self.failure(reason)
        self._report("down", reason)

    def _report(self, status: str, reason: str | None) -> None:
        # Only transitions reach the listener (a database write); a race here at worst
        # writes the same status twice.
        if self._reported == status or self.listener is None:
            return
        self._reported = status
        since = self.down_since if status == "down" and self.down_since else dt.datetime.now(dt.UTC)
        if self.listener(status, since, reason, self.failures) is False:
            self._reported = None  # not recorded: the next occasion reports it again
