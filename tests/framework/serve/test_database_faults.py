"""A database that fails gives fast 503s with a retry hint, never a 500 or a lost job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from framework.app import Raccord, check_config
from framework.gateway.app import Gateway, make_app
from framework.plugins import make_plugin_manager
from framework.runtime.queue import list_jobs
from framework.storage import open_database
from framework.storage.db import SQLITE_BUSY_MS
from tests.framework.serve import plugin
from tests.framework.serve.harness import API_KEY, SIGN_KEY, write_config

HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVE_TEST_KEY", API_KEY)
    monkeypatch.setenv("SERVE_TEST_SIGN", SIGN_KEY)


def gateway(tmp_path: Path, url: str) -> Any:
    pm = make_plugin_manager(plugins=[plugin], entry_points=False)
    return make_app(write_config(tmp_path, "http://127.0.0.1:9"), database_url=url, pm=pm)


@pytest.fixture
def sqlite_gateway(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    path = tmp_path / "db.sqlite3"
    gw = gateway(tmp_path, f"sqlite:///{path}")
    yield gw, path
    gw.close()


def push(client: Client, key: str) -> Any:
    return client.post("/metz/s/push", json={"key": key}, headers=HEADERS)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["err_class"] == "raccord.unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_sqlite_locked_by_another_process_is_a_fast_503(sqlite_gateway: tuple[Any, Path]) -> None:
    gw, path = sqlite_gateway
    client = Client(gw)
    assert push(client, "before").status_code == 202
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        response = push(client, "during")
        elapsed = time.monotonic() - started
        assert_unavailable(response)
        assert elapsed < SQLITE_BUSY_MS / 1000 + 3  # the busy timeout, far below the 30 s of old
    finally:
        holder.kill()
        holder.communicate()
    assert push(client, "after").status_code == 202  # and it heals by itself


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_sqlite_file_deleted_or_replaced_refuses_instead_of_losing_jobs(
        sqlite_gateway: tuple[Any, Path], how: str) -> None:
    gw, path = sqlite_gateway
    client = Client(gw)
    assert client.get("/readyz").status_code == 200
    assert push(client, "kept").status_code == 202
    if how == "deleted":
        path.unlink()
    else:
        other = path.with_name("other.sqlite3")
        open_database(f"sqlite:///{other}").dispose()
        os.replace(other, path)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "deleted or replaced" in ready.json["data"]["database"]
    for i in range(5):
        assert_unavailable(push(client, f"lost-{i}"))  # never 202 then lost


def test_postgres_read_only_is_not_ready_and_pushes_are_503(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    gw = gateway(tmp_path, pg_url)
    try:
        client = Client(gw)
        assert client.get("/readyz").status_code == 200
        name = pg_url.rsplit("/", 1)[1]
        with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        gw.raccord.db.engine.dispose()  # new sessions pick the setting up
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["data"]["database"] == "read-only"
        assert_unavailable(push(client, "ro"))
    finally:
        gw.close()
    db = open_database(pg_url, migrate=False)
    try:
        assert list_jobs(db) == []
    finally:
        db.dispose()


def test_postgres_unreachable_is_a_fast_503(tmp_path: Path) -> None:
    from framework.testing import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    pm = make_plugin_manager(plugins=[plugin], entry_points=False)
    territory, _, registry = check_config(str(write_config(tmp_path, "http://127.0.0.1:9")), pm)
    gw = Gateway(Raccord(territory, registry, open_database(url, migrate=False), pm))
    try:
        client = Client(gw)
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["data"]["database"].startswith("unreachable")
        assert_unavailable(push(client, "nowhere"))
        assert time.monotonic() - started < 10
    finally:
        gw.close()


def test_a_hung_postgres_is_a_fast_503_and_readyz_is_bounded(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another session holds the tables locked (a hung database, as far as raccord can
    tell): the push waits only the gateway's statement timeout, /readyz only 2 s."""
    import psycopg

    from framework.gateway.readiness import PROBE_TIMEOUT
    from framework.gateway.server import gateway_database
    from framework.runtime import heartbeat
    from framework.storage.db import GATEWAY_STATEMENT_TIMEOUT_MS

    monkeypatch.setenv(heartbeat.SERVE_ID_ENV, "test:1")  # /readyz then reads the heartbeats too
    monkeypatch.setenv(heartbeat.EXPECTED_ENV, "worker")
    pm = make_plugin_manager(plugins=[plugin], entry_points=False)
    territory, _, registry = check_config(str(write_config(tmp_path, "http://127.0.0.1:9")), pm)
    gw = Gateway(Raccord(territory, registry, gateway_database(pg_url), pm))
    holder = psycopg.connect(pg_url.replace("+psycopg", ""))
    try:
        client = Client(gw)
        assert push(client, "before").status_code == 202
        holder.execute("LOCK TABLE jobs, records IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "not answering" in ready.json["data"]["database"]
        assert time.monotonic() - started < PROBE_TIMEOUT + 2
        started = time.monotonic()
        assert_unavailable(push(client, "during"))
        assert time.monotonic() - started < GATEWAY_STATEMENT_TIMEOUT_MS / 1000 + 3
        holder.rollback()
        assert push(client, "after").status_code == 202
    finally:
        holder.close()
        gw.close()
