"""Schedules of periodic jobs, spread by a stable per-binding offset.

A schedule is ``"every 30s" | "every 5m" | "every 2h" | "every 1d"``, ``"hourly"``,
``"daily"``, ``"weekly"`` or a cron string ``"m h dom mon dow"`` (machine's local
time). Fifty communes with a ``daily`` synchronisation must not all hit their
business servers at midnight: each (binding, job) gets an offset derived from a hash
of its name — the same on every machine and after every restart — that places it
somewhere in its period (interval schedules) or up to 15 minutes after its cron time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

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
        try:
            CronTrigger.from_crontab(clean)
        except ValueError as exc:
            raise ValueError(f"schedule {text!r} is not a valid cron string: {exc}") from None
        return Schedule(text, cron=clean)
    raise ValueError(f"schedule {text!r} not understood: use \"every 5m\", \"hourly\", \"daily\", "
                     "\"weekly\" or a cron string \"m h dom mon dow\"")


def stable_offset(binding_id: str, job: str, span: int) -> int:
    """Seconds in ``[0, span)`` from a hash: stable across processes, machines, restarts."""
    digest = hashlib.sha256(f"{binding_id}\0{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, span)


class OffsetTrigger(BaseTrigger):  # type: ignore[misc]
    """Another trigger's fire times shifted later by ``offset`` seconds."""

    def __init__(self, inner: BaseTrigger, offset: int) -> None:
        self.inner = inner
        self.offset = dt.timedelta(seconds=offset)

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        prev = previous_fire_time - self.offset if previous_fire_time else None
        nxt = self.inner.get_next_fire_time(prev, now - self.offset)
        return nxt + self.offset if nxt is not None else None

    def __str__(self) -> str:
        return f"{self.inner} + {self.offset.total_seconds():g}s"


@dataclass(frozen=True)
class Timing:
    """When a (binding, job) fires: its trigger, and the slot a fire time belongs to."""

    schedule: Schedule
    offset: int
    trigger: Any
    granularity: int  # seconds: two fires in the same slot are one fire

    def slot(self, when: dt.datetime) -> dt.datetime:
        """The scheduled time a (possibly late) fire at ``when`` stands for."""
        since = (when - EPOCH).total_seconds() - self.offset
        return EPOCH + dt.timedelta(seconds=(since // self.granularity) * self.granularity + self.offset)


def timing(schedule: Schedule, binding_id: str, job: str, timezone: Any = None) -> Timing:
    if schedule.period is not None:
        offset = stable_offset(binding_id, job, schedule.period)
        trigger = IntervalTrigger(seconds=schedule.period, start_date=EPOCH + dt.timedelta(seconds=offset),
                                  timezone=dt.UTC)
        return Timing(schedule, offset, trigger, schedule.period)
    assert schedule.cron is not None
    inner = CronTrigger.from_crontab(schedule.cron, timezone=timezone)
    offset = stable_offset(binding_id, job, CRON_SPREAD_SECONDS)
    # Cron times are whole minutes, so a minute identifies the slot of a fire.
    return Timing(schedule, offset, OffsetTrigger(inner, offset), 60)
