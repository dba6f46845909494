"""How well the stable per-binding offset spreads periodic jobs: for 1,000 bindings,
the most jobs fired in any one minute, against an even spread and against no offset.
Writes docs/benchmarks/scheduler_spread.md.

    .venv/bin/python bench/scheduler_spread.py [--bindings 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.runtime.schedule import CRON_SPREAD_SECONDS, parse_schedule  # noqa: E402
from framework.runtime.triggers import timing  # noqa: E402

SCHEDULES = ("every 5m", "hourly", "daily", "0 3 * * *")


def spread(schedule: str, bindings: int) -> tuple[int, float, int, float]:
    """(busiest minute, even spread per minute, minutes used, seconds to plan)."""
    sched = parse_schedule(schedule)
    start = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    minutes: Counter[dt.datetime] = Counter()
    for n in range(bindings):
        t = timing(sched, f"commune{n:04d}/adresse", "sync", timezone=dt.UTC)
        fire = t.trigger.get_next_fire_time(None, start)
        minutes[fire.replace(second=0, microsecond=0)] += 1
    planned = time.perf_counter() - t0
    window_minutes = (sched.period or CRON_SPREAD_SECONDS) / 60
    return max(minutes.values()), bindings / window_minutes, len(minutes), planned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bindings", type=int, default=1000)
    args = parser.parse_args()
    lines = ["# Scheduler spread", "",
             f"{args.bindings} bindings, one periodic job each, first fire after a common instant. "
             "Without offsets every binding fires in the same minute "
             f"({args.bindings} jobs). A cron schedule keeps its time and spreads over the "
             f"{CRON_SPREAD_SECONDS // 60} minutes after it.", "",
             "| schedule | busiest minute (jobs) | even spread (jobs/minute) | without offset | "
             "minutes used | planning time (ms) |", "|---|---|---|---|---|---|"]
    for schedule in SCHEDULES:
        busiest, even, used, planned = spread(schedule, args.bindings)
        lines.append(f"| `{schedule}` | {busiest} | {even:.1f} | {args.bindings} | {used} | {planned * 1000:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "docs" / "benchmarks" / "scheduler_spread.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
