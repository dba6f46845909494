"""Two machines: two `raccord serve`, each in its own working directory, sharing one
PostgreSQL database, behind the shipped nginx configuration as the load balancer."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import pytest
import requests

from framework.runtime.queue import list_jobs
from framework.storage import open_database
from tests.framework.serve.harness import (
    API_KEY,
    Business,
    Serve,
    alive,
    background_of,
    business,
    wait_for,
    write_config,
)
from tests.framework.serve.nginx import Nginx, nginx_binary

# One process runs the module: its tests share one module-scoped server.
pytestmark = [pytest.mark.xdist_group("test_two_machines"), pytest.mark.postgres]


@pytest.fixture(scope="module")
def shared_pg(pg_admin_url: str) -> Iterator[str]:
    """One PostgreSQL database for the module's two machines (the tests share them)."""
    import uuid

    import psycopg

    name = f"raccord_t_{uuid.uuid4().hex[:12]}"
    admin = pg_admin_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_admin_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory,
             shared_pg: str) -> Iterator[tuple[Serve, Serve, Nginx, Business]]:
    """Machines A and B started at once on a fresh database (their masters both migrate
    it: the migration lock makes the second wait), behind nginx."""
    nginx_binary()
    tmp = tmp_path_factory.mktemp("machines")
    with business() as shop:
        dirs = [tmp / "machine-a", tmp / "machine-b"]
        for d in dirs:
            d.mkdir()
        config = write_config(tmp, shop.url)
        for d in dirs:
            shutil.copy(config, d / "instances.toml")
        a = Serve(dirs[0] / "instances.toml", shared_pg, wait=False)
        b = Serve(dirs[1] / "instances.toml", shared_pg, wait=False)
        front: Nginx | None = None
        try:
            a.wait_ready()
            b.wait_ready()
            front = Nginx(tmp, [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"])
            yield a, b, front, shop
        finally:
            if front is not None:
                front.stop()
            a.stop()
            b.stop()


def test_a_nonce_used_on_one_machine_is_refused_on_the_other(machines: tuple[Serve, Serve, Nginx, Business]) -> None:
    a, b, front, _ = machines
    path = a.signed_path()
    assert a.get(path).status_code == 200
    replay = b.get(path)
    assert replay.status_code == 401 and "already used" in replay.json()["err_desc"]
    # Through the load balancer, whichever machine answers: once, then refused.
    path = a.signed_path()
    first, second = requests.get(front.url + path, timeout=10), requests.get(front.url + path, timeout=10)
    assert (first.status_code, second.status_code) == (200, 401)


def test_the_scheduler_lead_moves_to_the_other_machine_and_no_job_runs_twice(
        machines: tuple[Serve, Serve, Nginx, Business], shared_pg: str) -> None:
    """(Runs after the nonce test: it loses one machine.)"""
    a, b, front, shop = machines
    with requests.Session() as s:
        s.trust_env = False

        def push(key: str) -> None:
            r = s.post(f"{front.url}/metz/s/push", json={"key": key}, headers={"X-API-Key": API_KEY}, timeout=10)
            assert r.status_code == 202, r.text

        wait_for(lambda: "scheduler leading" in a.text() + b.text(), 20)
        leader, other = (a, b) if "scheduler leading" in a.text() else (b, a)
        assert "scheduler leading" not in other.text()  # one leader among two machines
        for i in range(30):
            push(f"before-{i}")
        wait_for(lambda: all(shop.pushes()[f"before-{i}"] for i in range(30)), 20, lambda: str(shop.pushes()))

        # The leader's machine is lost: master and background process SIGKILLed.
        ticks_before = shop.ticks()
        tree = [leader.proc.pid, *leader.children()]
        background = background_of(leader.proc.pid)
        for pid in (background, leader.proc.pid):
            os.kill(pid, signal.SIGKILL)
        leader.proc.wait(5)
        wait_for(lambda: not any(alive(p) for p in tree), 15)
        wait_for(lambda: "scheduler leading" in other.text(), 20, other.text)  # the lead moved within seconds

        for i in range(30):
            push(f"after-{i}")  # nginx sends them all to the machine left
        wait_for(lambda: all(shop.pushes()[f"after-{i}"] for i in range(30)), 20, lambda: str(shop.pushes()))
        # The new leader fires the periodic job (every 2 s): wait for a run it started,
        # rather than hope one happened while the pushes were delivered.
        wait_for(lambda: bool(shop.ticks() - ticks_before), 20, lambda: str(sorted(shop.ticks())))
    deliveries = shop.deliveries
    db = open_database(shared_pg, migrate=False)
    try:
        jobs = list_jobs(db, limit=100_000)
    finally:
        db.dispose()
    by_key = {j.idempotency_key: j for j in jobs if j.kind == "task"}
    by_id = {f"tick-{j.id}": j for j in jobs if j.kind == "periodic"}
    assert len(by_key) == 60 and any(by_id)
    # No job ran twice; a repeat would be legitimate only for a job taken over after its
    # worker died mid-run (attempts > 1), which the idempotency key then accounts for.
    repeated = {k: n for k, n in deliveries.items() if n > 1}
    for key in repeated:
        job = by_key.get(key) or by_id[key]
        assert job.attempts > 1, (key, job)
