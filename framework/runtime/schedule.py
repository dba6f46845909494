"""Schedules of periodic jobs, spread by a stable per-binding offset.

A schedule is ``"every 30s" | "every 5m" | "every 2h" | "every 1d"``, ``"hourly"``,
``"daily"``, ``"weekly"`` or a cron string ``"m h dom mon dow"`` (machine's local
time). Fifty communes with a ``daily`` synchronisation must not all hit their
business servers at midnight: each (binding, job) gets an offset derived from a hash
of its name — the same on every machine and after every restart — that places it
somewhere in its period (interval schedules) or up to 15 minutes after its cron time.

This module parses (``raccord check`` verifies every schedule with it, and the
scheduler reads them with it); :mod:`framework.runtime.triggers` builds the APScheduler
triggers. A cron string is parsed by APScheduler's own parser — the one the trigger
will use — and its verdict is remembered (:mod:`framework.memo`), so that a ``check``
whose cron strings were all seen before does not import APScheduler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from framework import memo

EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday at midnight UTC: weekly slots start there
ALIASES = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CRON_SPREAD_SECONDS = 900
_EVERY = re.compile(r"every\s+(\d+)\s*([smhd])[a-z]*$")


@dataclass(frozen=True)
class Schedule:
    text: str
    period: int | None = None  # seconds, for interval schedules
    cron: str | None = None


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule; ValueError names what is wrong and what is accepted."""
    clean = " ".join(text.strip().lower().split())
    if clean in ALIASES:
        return Schedule(text, period=ALIASES[clean])
    if match := _EVERY.match(clean):
        period = int(match.group(1)) * UNITS[match.group(2)]
        if period <= 0:
            raise ValueError(f"schedule {text!r}: the period must be positive")
        return Schedule(text, period=period)
    if len(clean.split()) == 5:
        problems = memo.remembered("apscheduler", "crontab", clean, lambda: _crontab_problems(clean), source=__file__)
        if problems:
            raise ValueError(f"schedule {text!r} is not a valid cron string: {problems[0]}")
        return Schedule(text, cron=clean)
    raise ValueError(f"schedule {text!r} not understood: use \"every 5m\", \"hourly\", \"daily\", "
                     "\"weekly\" or a cron string \"m h dom mon dow\"")


def _crontab_problems(clean: str) -> list[str]:
    from apscheduler.triggers.cron import CronTrigger

    try:
        # In UTC: whether the fields are valid does not depend on the zone, and the
        # machine's zone is no part of the expression (its verdict is remembered).
        CronTrigger.from_crontab(clean, timezone=dt.UTC)
    except ValueError as exc:
        return [str(exc)]
    return []


def stable_offset(binding_id: str, job: str, span: int) -> int:
    """Seconds in ``[0, span)`` from a hash: stable across processes, machines, restarts."""
    digest = hashlib.sha256(f"{binding_id}\0{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, span)
