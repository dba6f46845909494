"""Job queue throughput: jobs enqueued and processed per second, SQLite and PostgreSQL,
1, 2 and 4 worker processes, and 2 workers over a backlog of finished jobs.

    .venv/bin/python bench/queue_throughput.py [--jobs 4000] [--repeats 3] [--backlog 100000] [--quick]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg] [--fail-one]

The job does nothing (returns its payload's number), so this measures the queue's
own cost: claim (batches of 20 under a lease), run, record the result, per job.

How each run is timed: the jobs are enqueued first; the worker processes start, open
the territory and the database, and wait; the clock starts when every one of them is
ready, and stops when the last job is finished. Each worker times its claims (the
``UPDATE … RETURNING`` that takes a batch) and reports them. Every configuration is
repeated ``--repeats`` times, configurations interleaved in an order rotated from one
repeat to the next. A job that fails (retried later, or dead), a worker that exits,
or no progress for ``--stall`` seconds ends the run at once, reported as such: the
benchmark never waits for a retry's back-off. Writes docs/benchmarks/queue.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

SPAWN = multiprocessing.get_context("spawn")
DOC = ROOT / "docs" / "benchmarks" / "queue.md"


def open_raccord(config: str, url: str) -> Any:
    from bench import queue_connector
    from framework.app import Raccord
    from framework.plugins import make_plugin_manager

    return Raccord.open(config, database_url=url, pm=make_plugin_manager(plugins=[queue_connector],
                                                                         entry_points=False))


def worker_main(config: str, url: str, ready: Any, go: Any, stop: Any, out: Any) -> None:
    """One worker process: open everything, say so, wait for the start, run, report claims."""
    from framework.runtime import lease
    from framework.runtime.worker import run_worker

    raccord = open_raccord(config, url)
    claims: list[float] = []  # seconds per claim that returned jobs
    empty = 0
    real_claim = lease.claim

    def timed_claim(*args: Any, **kwargs: Any) -> Any:
        nonlocal empty
        t0 = time.perf_counter()
        got = real_claim(*args, **kwargs)
        if got:
            claims.append(time.perf_counter() - t0)
        else:
            empty += 1
        return got

    lease.claim = timed_claim  # this process only: framework.runtime.worker calls lease.claim
    try:
        ready.release()
        go.wait()
        run_worker(raccord, stop, batch=20, poll_seconds=0.02)
    finally:
        raccord.close()
        out.put((os.getpid(), claims, empty))


@dataclass
class Run:
    db: str
    workers: int
    backlog: int
    single: float = 0.0  # enqueue one by one, jobs/s
    bulk: float = 0.0
    processed: float = 0.0
    split: list[int] = field(default_factory=list)  # jobs done per worker process, largest first
    claim_p50: float = 0.0  # ms per claim of a batch
    claim_p99: float = 0.0
    failure: str = ""


def remaining(db: Any) -> dict[str, tuple[int, int]]:
    """status → (count, of which retried) for unfinished and dead jobs (the claim index answers)."""
    from sqlalchemy import and_, case, func, select

    from framework.storage.schema import jobs

    # A queued job with an attempt spent failed and waits for its retry (claims count the
    # attempt; a release or a deferral gives it back).
    retried = case((and_(jobs.c.status == "queued", jobs.c.attempts > 0), 1), else_=0)
    with db.engine.connect() as conn:
        rows = conn.execute(select(jobs.c.status, func.count(), func.sum(retried))
                            .where(jobs.c.status.in_(("queued", "running", "dead")))
                            .group_by(jobs.c.status)).all()
    return {status: (int(n), int(retried or 0)) for status, n, retried in rows}


def first_error(db: Any) -> str:
    from sqlalchemy import select

    from framework.storage.schema import jobs

    with db.engine.connect() as conn:
        row = conn.execute(select(jobs.c.name, jobs.c.status, jobs.c.error).where(jobs.c.error.is_not(None))
                           .limit(1)).first()
    return f"job {row[0]!r} ({row[1]}): {str(row[2])[:200]}" if row else "no error recorded"


def add_backlog(db: Any, n: int) -> None:
    """``n`` finished jobs, as a queue that has run for a while without a purge looks."""
    from sqlalchemy import insert

    from framework.storage.schema import jobs

    now = dt.datetime.now(dt.UTC)
    rows = [{"instance": "metz", "profile": "b", "name": "old", "kind": "task", "payload": {"n": i},
             "status": "done", "attempts": 1, "max_attempts": 5, "run_at": now, "worker": "gone",
             "result": i, "created_at": now, "updated_at": now} for i in range(n)]
    with db.engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(jobs), rows[start:start + 5000])
    if db.engine.dialect.name == "postgresql":
        # A backlog grows over days, and autovacuum analyses the table meanwhile: without
        # this, the planner would judge the claim query on statistics from an empty table.
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE jobs")


def run(config: str, url: str, spec: Run, args: argparse.Namespace) -> Run:
    from sqlalchemy import func, select

    from framework.runtime.queue import enqueue, enqueue_many
    from framework.storage.schema import jobs

    raccord = open_raccord(config, url)
    procs: list[Any] = []
    stop, go, out = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
    try:
        with raccord.db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM jobs")
        if spec.backlog:
            add_backlog(raccord.db, spec.backlog)
        t0 = time.perf_counter()
        for n in range(200):
            enqueue(raccord.db, "metz", "b", "noop", {"n": n}, idempotency_key=f"{n}-{uuid.uuid4()}")
        spec.single = 200 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        enqueue_many(raccord.db, "metz", "b", "noop", ({"n": n} for n in range(args.jobs - 200)))
        spec.bulk = (args.jobs - 200) / (time.perf_counter() - t0)
        if args.fail_one:
            enqueue(raccord.db, "metz", "b", "boom", {})
        ready = SPAWN.Semaphore(0)
        procs = [SPAWN.Process(target=worker_main, args=(config, url, ready, go, stop, out))
                 for _ in range(spec.workers)]
        for proc in procs:
            proc.start()
        for _ in procs:
            if not ready.acquire(timeout=120):
                spec.failure = "a worker did not start within 120 s"
                return spec
        go.set()
        t0 = last_progress = time.perf_counter()
        left = args.jobs + args.fail_one
        while left:
            time.sleep(0.02)
            state = remaining(raccord.db)
            now_left = sum(n for status, (n, _) in state.items() if status != "dead")
            if now_left < left:
                last_progress = time.perf_counter()
            left = now_left
            retried = sum(r for _, r in state.values())
            if "dead" in state or retried:
                spec.failure = f"a job failed ({first_error(raccord.db)}); run stopped"
            elif any(not p.is_alive() for p in procs):
                spec.failure = "a worker process exited during the run"
            elif time.perf_counter() - last_progress > args.stall:
                spec.failure = f"no job finished for {args.stall:g} s ({left} left); run stopped"
            if spec.failure:
                return spec
        spec.processed = args.jobs / (time.perf_counter() - t0)
        with raccord.db.engine.connect() as conn:
            spec.split = sorted((int(n) for _, n in conn.execute(
                select(jobs.c.worker, func.count()).where(jobs.c.name == "noop", jobs.c.status == "done")
                .group_by(jobs.c.worker)).all()), reverse=True)
        return spec
    finally:
        stop.set()
        go.set()  # a worker still waiting for the start sees the stop at once
        times: list[float] = []
        deadline = time.monotonic() + 30
        for _ in procs:  # before joining: a worker exits only once its report is read
            try:
                _pid, claims, _empty = out.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            times += claims
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        if times and not spec.failure:
            times.sort()
            spec.claim_p50 = times[len(times) // 2] * 1000
            spec.claim_p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        raccord.close()


def pg_database(admin: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"raccord_bench_{uuid.uuid4().hex[:8]}"
    plain = admin.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{admin.rsplit('/', 1)[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4000, help="jobs per run (default 4000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration, interleaved")
    parser.add_argument("--backlog", type=int, default=100_000, help="finished jobs already in the table, "
                        "for the backlog configuration")
    parser.add_argument("--stall", type=float, default=30, help="seconds without progress that end a run")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--fail-one", action="store_true", help="add one failing job to each run (checks "
                        "that a failure ends the run instead of waiting)")
    parser.add_argument("--quick", action="store_true", help="1 repeat of 1,000 jobs, backlog 20,000; "
                        "prints, writes nothing unless --out is given")
    parser.add_argument("--out", type=Path, default=None, help=f"report file (default {DOC.relative_to(ROOT)})")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.repeats, args.backlog = 1000, 1, 20_000
    out = args.out or (None if args.quick or args.fail_one else DOC)

    from bench.queue_connector import TERRITORY

    runs: list[Run] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "instances.toml"
        config.write_text(TERRITORY, encoding="utf-8")
        targets: list[tuple[str, str]] = [("SQLite (WAL)", f"sqlite:///{tmp}/bench.sqlite3")]
        drops: list[Callable[[], None]] = []
        if not args.no_pg:
            try:
                url, drop = pg_database(args.pg)
                drops.append(drop)
                targets.append(("PostgreSQL 15", url))
            except Exception as exc:
                print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
        urls = dict(targets)
        specs = [(label, w, 0) for label, _ in targets for w in (1, 2, 4)]
        specs += [(label, 2, args.backlog) for label, _ in targets]
        try:
            for r in range(args.repeats):
                order = specs[r % len(specs):] + specs[:r % len(specs)]
                for label, workers, backlog in order:
                    done = run(str(config), urls[label], Run(label, workers, backlog), args)
                    runs.append(done)
                    figures = (f"{done.processed:,.0f} jobs/s, split {done.split}, "
                               f"claim {done.claim_p50:.1f}/{done.claim_p99:.1f} ms")
                    print(f"repeat {r + 1}/{args.repeats} {label}, {workers} workers, backlog {backlog:,}: "
                          f"{done.failure or figures}", flush=True)
        finally:
            for drop in drops:
                drop()
    text = report(runs, specs, args, (load_before, os.getloadavg()[0]))
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        prev = out.read_text(encoding="utf-8") if out.exists() else ""
        notes = prev.split("\n## Notes", 1)[1] if "\n## Notes" in prev else ""
        out.write_text(text + ("\n## Notes" + notes if notes else ""), encoding="utf-8")
        print(f"written to {out}")


def report(runs: list[Run], specs: list[tuple[str, int, int]], args: argparse.Namespace,
           load: tuple[float, float]) -> str:
    lines = [
        "# Job queue throughput", "",
        f"`bench/queue_throughput.py` on {dt.date.today()}: {args.jobs:,} trivial jobs per run, "
        f"{args.repeats} runs of each configuration, interleaved (order rotated from one repeat to the next), "
        f"on a {os.cpu_count()}-core machine shared with other work (load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after). Worker processes each claim batches of 20 under a lease and record every "
        "result in its own transaction. *enqueue one by one*: `enqueue` with an idempotency key, one "
        "transaction each (what an endpoint does); *bulk*: `enqueue_many`. *processed*: jobs finished "
        "per second, the clock started once every worker process is running (imports, territory and "
        "database opened). *split*: jobs done by each worker process (largest first; all runs). "
        "*claim*: time of one claim of a batch (the `UPDATE … RETURNING`), p50/p99 over all claims of "
        "the configuration's runs that returned jobs. Figures are medians over the runs (min–max).", "",
        "| database | workers | finished jobs already in the table | enqueue one by one (jobs/s) "
        "| enqueue bulk (jobs/s) | processed (jobs/s) | split per worker (each run) | claim p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, workers, backlog in specs:
        mine = [r for r in runs if (r.db, r.workers, r.backlog) == (label, workers, backlog)]
        good = [r for r in mine if not r.failure]
        failed = [r.failure for r in mine if r.failure]

        def fig(values: list[float]) -> str:
            if not values:
                return "—"
            if len(values) == 1:
                return f"{values[0]:,.0f}"
            return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"

        split = "; ".join(" / ".join(f"{n:,}" for n in r.split) for r in good) or "—"
        claim = (f"{statistics.median(r.claim_p50 for r in good):.1f} / "
                 f"{statistics.median(r.claim_p99 for r in good):.1f} ms") if good else "—"
        processed = fig([r.processed for r in good]) + (f" ({len(failed)} run(s) failed)" if failed else "")
        lines.append(f"| {label} | {workers} | {backlog:,} | {fig([r.single for r in mine])} "
                     f"| {fig([r.bulk for r in mine])} | {processed} | {split} | {claim} |")
    failures = sorted({f"{r.db}, {r.workers} workers: {r.failure}" for r in runs if r.failure})
    if failures:
        lines += ["", "Runs that failed:", ""] + [f"- {f}" for f in failures]
    lines += ["", "The scheduler's spread over 1,000 bindings is in "
              "[scheduler_spread.md](scheduler_spread.md) (`bench/scheduler_spread.py`)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
