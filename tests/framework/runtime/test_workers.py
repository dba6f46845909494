"""Worker processes: exactly once at volume, take-over after SIGKILL, a server down."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from framework.runtime.queue import count_by_status, enqueue, enqueue_many, find_job, list_jobs
from tests.framework.runtime.helpers import SPAWN, executions, open_raccord, start_workers, write_territory

JOBS = 10_000


def wait_until(predicate: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def stop_all(stop: Any, procs: list[Any]) -> None:
    stop.set()
    for proc in procs:
        proc.join(timeout=20)
        if proc.is_alive():
            proc.kill()
            proc.join()


def test_two_worker_processes_run_10000_jobs_exactly_once(config: Path, database_url: str) -> None:
    raccord = open_raccord(config, database_url)
    try:
        half = JOBS // 2
        enqueue_many(raccord.db, "metz", "q", "count", ({"n": n} for n in range(half)))
        enqueue_many(raccord.db, "woippy", "q", "count", ({"n": n} for n in range(half, JOBS)))
        stop = SPAWN.Event()
        procs = start_workers(config, database_url, 2, stop, batch=50, poll_seconds=0.05)
        try:
            # Generous: a loaded machine (CI beside other work) is several times slower.
            finished = wait_until(lambda: count_by_status(raccord.db).get("done", 0) == JOBS, timeout=300,
                                  step=0.5)
        finally:
            stop_all(stop, procs)
        ran = executions(config.parent / "out", "count")
        duplicates = [n for n, times in Counter(ran).items() if times > 1]
        assert duplicates == []
        assert len(ran) == JOBS and set(ran) == {str(n) for n in range(JOBS)}
        assert finished and count_by_status(raccord.db) == {"done": JOBS}
        # Both processes took part (batches of 50 interleave between them).
        assert len(list((config.parent / "out").glob("count-*.txt"))) == 2
    finally:
        raccord.close()


def test_a_job_of_a_killed_worker_completes_on_another_after_the_lease(config: Path, database_url: str) -> None:
    raccord = open_raccord(config, database_url)
    out = config.parent / "out"
    try:
        job_id = enqueue(raccord.db, "metz", "q", "slow", {"n": 1, "seconds": 1.0})
        # Each process gets its own stop event: a process killed while it holds an
        # event's internal lock would leave that event unusable for the others.
        stop_victim, stop_heir = SPAWN.Event(), SPAWN.Event()
        (victim,) = start_workers(config, database_url, 1, stop_victim, lease_seconds=1.5, poll_seconds=0.05)
        heirs: list[Any] = []
        try:
            assert wait_until(lambda: executions(out, "started") == ["1"], timeout=30)
            os.kill(victim.pid, signal.SIGKILL)  # mid-job: no chance to clean up
            victim.join()
            job = find_job(raccord.db, job_id)
            assert job is not None and job.status == "running" and job.attempts == 1
            heirs = start_workers(config, database_url, 1, stop_heir, lease_seconds=1.5, poll_seconds=0.05)
            assert wait_until(lambda: (j := find_job(raccord.db, job_id)) is not None and j.status == "done",
                              timeout=30)
        finally:
            stop_all(stop_heir, heirs)
        job = find_job(raccord.db, job_id)
        assert job is not None and job.attempts == 2 and job.result == "slept"
        assert executions(out, "started") == ["1", "1"] and executions(out, "finished") == ["1"]
    finally:
        raccord.close()


class FakeTicketing(BaseHTTPRequestHandler):
    """A business server that refuses a key it has already seen (409) and counts it."""

    seen: Counter[str]
    lock = threading.Lock()

    def do_POST(self) -> None:
        key = self.headers.get("Idempotency-Key", "")
        length = int(self.headers.get("Content-Length", 0))
        json.loads(self.rfile.read(length))
        with self.lock:
            self.seen[key] += 1
            status = 201 if self.seen[key] == 1 else 409
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def free_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTicketing)
    port = server.server_address[1]
    server.server_close()  # the server is "down" until the test starts it on this port
    yield port


def test_pushes_queued_while_the_server_is_down_arrive_once_when_it_is_back(
        tmp_path: Path, database_url: str, free_port: int) -> None:
    # Attempts sized for the outage, as an administrator would for a server known to
    # go down for hours: here backoffs of 0.2 s doubling, 20 attempts.
    config = write_territory(tmp_path, server=f"http://127.0.0.1:{free_port}", runtime="max_attempts = 20")
    raccord = open_raccord(config, database_url)
    pushes = 40
    stop = SPAWN.Event()
    procs: list[Any] = []
    server: ThreadingHTTPServer | None = None
    try:
        for n in range(pushes):
            raccord.invoke("metz", "q", "tickets", method="POST", body={"key": f"k{n}", "n": n})
        # A caller retrying its request must not create a second push.
        raccord.invoke("metz", "q", "tickets", method="POST", body={"key": "k0", "n": 0})
        procs = start_workers(config, database_url, 2, stop, poll_seconds=0.05, backoff_seconds=0.2, batch=5)
        # Every push has been tried and failed (or deferred by the open circuit breaker).
        assert wait_until(lambda: all(j.error for j in list_jobs(raccord.db, limit=pushes)), timeout=30)
        time.sleep(0.5)  # down "for a while": retries keep failing
        assert count_by_status(raccord.db).get("done", 0) == 0  # still down: nothing delivered
        FakeTicketing.seen = Counter()
        server = ThreadingHTTPServer(("127.0.0.1", free_port), FakeTicketing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        assert wait_until(lambda: count_by_status(raccord.db) == {"done": pushes}, timeout=60, step=0.2)
        assert sorted(FakeTicketing.seen) == sorted(f"k{n}" for n in range(pushes))
        assert max(FakeTicketing.seen.values()) == 1  # no duplicate at the server
    finally:
        stop_all(stop, procs)
        if server is not None:
            server.shutdown()
            server.server_close()
        raccord.close()
