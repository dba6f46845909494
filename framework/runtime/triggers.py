"""APScheduler triggers for parsed schedules (:mod:`framework.runtime.schedule`): the
runtime half, kept apart so that parsing a schedule does not import APScheduler."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from framework.runtime.schedule import CRON_SPREAD_SECONDS, EPOCH, Schedule, stable_offset


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
