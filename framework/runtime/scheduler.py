"""The scheduler: fires each binding's periodic jobs by ENQUEUEING them; workers run them.

Run it in every process that may (``raccord serve`` roles, ``raccord scheduler``):
only the holder of the leadership lock (:mod:`framework.runtime.leader`) fires; the
others wait on standby and take over when it dies. A fire's idempotency key is
``schedule:<job>:<slot>``, so even a double fire of one slot enqueues once. Missed
fires (the scheduler was down) are caught up once when a scheduler takes the lead —
coalesced, and spread over a few minutes — from the last fire recorded in
``schedule_state``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from framework.runtime.leader import Leadership, leadership_for
from framework.runtime.queue import enqueue
from framework.runtime.schedule import parse_schedule
from framework.runtime.triggers import Timing, timing
from framework.runtime.txn import aware, utcnow, write_tx
from framework.runtime.worker import StopSignal
from framework.storage.schema import schedule_state

log = logging.getLogger("raccord.scheduler")
CATCH_UP_SPREAD_SECONDS = 300


@dataclass(frozen=True)
class Planned:
    instance: str
    profile: str
    job: str
    timing: Timing

    @property
    def key(self) -> str:
        return f"{self.instance}/{self.profile}/{self.job}"


def plan(raccord: Any) -> list[Planned]:
    """Every enabled periodic job of every binding, with the profile's schedule if set."""
    planned = []
    for (instance, profile), binding in sorted(raccord.territory.bindings.items()):
        try:
            jobs = raccord.bound(instance, profile).jobs  # overrides may add or replace jobs
        except Exception as exc:
            log.warning("%s: cannot build the binding (%s); scheduling its connector's jobs", binding.id, exc)
            jobs = binding.connector.jobs
        for name, spec in sorted(jobs.items()):
            conf = binding.profile.jobs.get(name, {})
            if not conf.get("enabled", True):
                continue
            text = conf.get("schedule", spec.schedule)
            if text is None:  # a job that runs only when queued (a push)
                continue
            try:
                sched = parse_schedule(str(text))
            except ValueError as exc:
                log.error("%s job %s not scheduled: %s", binding.id, name, exc)
                continue
            planned.append(Planned(instance, profile, name, timing(sched, binding.id, name)))
    return planned


class Scheduler:
    def __init__(self, raccord: Any, *, misfire_grace_seconds: float = 300.0, standby_seconds: float = 10.0,
                 leadership: Leadership | None = None) -> None:
        self.raccord = raccord
        self.grace = misfire_grace_seconds
        self.standby = standby_seconds
        self.leadership = leadership or leadership_for(raccord.db)
        self.fired = 0
        self.leading = False

    def fire(self, p: Planned, slot: dt.datetime | None = None, delay: float = 0.0) -> int:
        """Enqueue one fire of ``p`` (the slot ``now`` belongs to by default); return the job id."""
        slot = slot or p.timing.slot(utcnow())
        job_id = enqueue(self.raccord.db, p.instance, p.profile, p.job, {}, kind="periodic",
                         idempotency_key=f"schedule:{p.job}:{slot.isoformat()}",
                         run_at=utcnow() + dt.timedelta(seconds=delay))
        self._remember(p, slot)
        self.fired += 1
        return job_id

    def _remember(self, p: Planned, slot: dt.datetime) -> None:
        row = {"instance": p.instance, "profile": p.profile, "job": p.job, "last_fired": slot}
        stmt = self.raccord.db.insert(schedule_state).values(row).on_conflict_do_update(
            index_elements=["instance", "profile", "job"], set_={"last_fired": slot})
        with write_tx(self.raccord.db) as conn:
            conn.execute(stmt)

    def catch_up(self, planned: list[Planned]) -> int:
        """Fire once every job whose slot passed since its last recorded fire."""
        with self.raccord.db.engine.connect() as conn:
            last = {(r.instance, r.profile, r.job): aware(r.last_fired) for r in conn.execute(select(schedule_state))}
        now, count = utcnow(), 0
        for p in planned:
            previous = last.get((p.instance, p.profile, p.job))
            if previous is None:
                continue  # never fired: a new binding waits for its first slot
            missed = p.timing.trigger.get_next_fire_time(None, previous + dt.timedelta(seconds=1))
            if missed is not None and missed <= now - dt.timedelta(seconds=1):
                # Coalesced: one fire, for the latest missed slot. After an outage every
                # binding is late at once, so the catch-ups are spread over a few minutes.
                self.fire(p, _latest_slot(p.timing, missed, now), delay=p.timing.offset % CATCH_UP_SPREAD_SECONDS)
                count += 1
        return count

    def run(self, stop: StopSignal) -> None:
        """Lead when the lock is free, stand by otherwise, until ``stop`` is set."""
        while not stop.is_set():
            try:
                if self.leadership.acquire():
                    try:
                        self._lead(stop)
                    finally:
                        self.leading = False
                        self.leadership.release()
                    continue
            except Exception as exc:  # the database went away: stand by, then try again
                log.error("scheduler stepped down on %s: %s", type(exc).__name__, exc)
            stop.wait(self.standby)

    def _lead(self, stop: StopSignal) -> None:
        self.leading = True
        planned = plan(self.raccord)
        log.info("scheduler leading: %d periodic jobs; caught up %d missed", len(planned), self.catch_up(planned))
        aps = BackgroundScheduler(timezone=dt.UTC, job_defaults={
            "coalesce": True, "misfire_grace_time": int(self.grace), "max_instances": 1})
        for p in planned:
            aps.add_job(self._fire_safely, p.timing.trigger, args=(p,), id=p.key, name=p.key)
        # Territory-wide upkeep (journal retention, expired cache): the leader alone runs it,
        # so it happens once a day whatever the number of processes and machines.
        aps.add_job(self._maintain, IntervalTrigger(hours=24), id="maintenance", name="maintenance",
                    next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        aps.start()
        try:
            while not stop.wait(min(self.standby, 5.0)):
                if not self.leadership.still_held():
                    break
        finally:
            aps.shutdown(wait=True)

    def _maintain(self) -> None:
        from framework.outbound.retention import purge_expired

        try:
            log.info("maintenance: purged %s", purge_expired(self.raccord))
        except Exception as exc:  # tomorrow tries again; do not kill the scheduler thread
            log.error("maintenance failed: %s", exc)

    def _fire_safely(self, p: Planned) -> None:
        try:
            self.fire(p)
        except Exception as exc:  # the next slot tries again; do not kill the scheduler thread
            log.error("could not enqueue %s: %s", p.key, exc)


def _latest_slot(t: Timing, missed: dt.datetime, now: dt.datetime) -> dt.datetime:
    if t.schedule.period is not None:
        return t.slot(now)
    latest = missed
    for _ in range(100_000):  # cron fires at most once a minute: a long outage is a few thousand
        nxt = t.trigger.get_next_fire_time(latest, latest + dt.timedelta(seconds=1))
        if nxt is None or nxt > now:
            break
        latest = nxt
    return latest
