"""Job queue throughput: jobs enqueued and processed per second, SQLite and PostgreSQL,
with 1, 2 and 4 worker processes. Writes docs/benchmarks/queue.md.

    .venv/bin/python bench/queue_throughput.py [--jobs 4000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

The job does nothing (returns its payload's number), so this measures the queue's
own cost: claim (batches of 20 under a lease), run, record the result, per job.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

from framework.app import Raccord  # noqa: E402
from framework.plugins import make_plugin_manager  # noqa: E402
from framework.runtime.queue import count_by_status, enqueue, enqueue_many  # noqa: E402
from framework.runtime.worker import run_worker  # noqa: E402

SPAWN = multiprocessing.get_context("spawn")


def open_raccord(config: str, url: str) -> Raccord:
    from bench import queue_connector

    return Raccord.open(config, database_url=url, pm=make_plugin_manager(plugins=[queue_connector],
                                                                         entry_points=False))


def worker_main(config: str, url: str, stop: Any) -> None:
    raccord = open_raccord(config, url)
    try:
        run_worker(raccord, stop, batch=20, poll_seconds=0.02)
    finally:
        raccord.close()


def run(config: str, url: str, jobs: int, workers: int) -> tuple[float, float, float]:
    raccord = open_raccord(config, url)
    try:
        t0 = time.perf_counter()
        for n in range(200):
            enqueue(raccord.db, "metz", "b", "noop", {"n": n}, idempotency_key=f"{workers}-{n}-{uuid.uuid4()}")
        single = 200 / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        enqueue_many(raccord.db, "metz", "b", "noop", ({"n": n} for n in range(jobs - 200)))
        bulk = (jobs - 200) / (time.perf_counter() - t0)
        stop = SPAWN.Event()
        procs = [SPAWN.Process(target=worker_main, args=(config, url, stop)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        # Time from the first job done (workers started and imported) to the last.
        while count_by_status(raccord.db).get("done", 0) == 0:
            time.sleep(0.01)
        t0 = time.perf_counter()
        start_done = count_by_status(raccord.db).get("done", 0)
        while (done := count_by_status(raccord.db).get("done", 0)) < jobs:
            time.sleep(0.05)
        processed = (done - start_done) / (time.perf_counter() - t0)
        stop.set()
        for proc in procs:
            proc.join()
        with raccord.db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM jobs")
        return single, bulk, processed
    finally:
        raccord.close()


def pg_database(admin: str) -> tuple[str, Any]:
    import psycopg

    name = f"raccord_bench_{uuid.uuid4().hex[:8]}"
    plain = admin.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{admin.rsplit('/', 1)[0]}/{name}", drop


def main() -> None:
    from bench.queue_connector import TERRITORY

    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "instances.toml"
        config.write_text(TERRITORY, encoding="utf-8")
        targets = [("SQLite (WAL)", f"sqlite:///{tmp}/bench.sqlite3", None)]
        try:
            url, drop = pg_database(args.pg)
            targets.append(("PostgreSQL 15", url, drop))
        except Exception as exc:
            print(f"PostgreSQL skipped: {exc}")
        for label, url, drop in targets:
            try:
                for workers in (1, 2, 4):
                    single, bulk, processed = run(str(config), url, args.jobs, workers)
                    rows.append((label, workers, single, bulk, processed))
                    print(rows[-1])
            finally:
                if drop is not None:
                    drop()
    lines = ["# Job queue throughput", "",
             f"{args.jobs} trivial jobs per run on a 2-core machine shared with other work; worker "
             "processes each claim batches of 20 under a lease and record every result in its own "
             "transaction. *enqueue (one by one)*: `enqueue` with an idempotency key, one transaction "
             "each (what an endpoint does). *enqueue (bulk)*: `enqueue_many`. *processed*: jobs "
             "finished per second once the workers are running.", "",
             "| database | worker processes | enqueue one by one (jobs/s) | enqueue bulk (jobs/s) "
             "| processed (jobs/s) |", "|---|---|---|---|---|"]
    lines += [f"| {label} | {w} | {s:,.0f} | {b:,.0f} | {p:,.0f} |" for label, w, s, b, p in rows]
    lines += ["", "The scheduler's spread over 1,000 bindings is in "
              "[scheduler_spread.md](scheduler_spread.md) (`bench/scheduler_spread.py`)."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "docs" / "benchmarks" / "queue.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
