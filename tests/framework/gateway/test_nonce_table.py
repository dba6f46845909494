"""The gateway's shared nonce table (SQLite): one decision for every process of a
gateway, nothing wedged by a process killed mid-claim, nonces written behind to the
database and loaded back by a restarted gateway, one gateway per SQLite database."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.errors import ConfigError, Unauthorized
from framework.gateway import nonce_table
from framework.gateway.nonce_table import PROBE, Claim, GatewayLock, NonceTable
from framework.gateway.nonces import NonceStore, recent_nonces
from framework.storage import open_database
from tests.framework.serve.harness import Serve, business, wait_for, write_config

NOW = 1_800_000_000.0
FORK = multiprocessing.get_context("fork")
Tables = Callable[[int], NonceTable]


@pytest.fixture
def new_table() -> Iterator[Tables]:
    made: list[NonceTable] = []

    def make(slots: int = PROBE) -> NonceTable:
        made.append(NonceTable(slots))
        return made[-1]

    yield make
    for table in made:
        table.close()


def test_a_nonce_is_new_once_then_seen_until_it_expires(new_table: Tables) -> None:
    table = new_table(PROBE)
    assert table.claim("wcs.test", "n1", NOW, NOW + 60) is Claim.NEW
    assert table.claim("wcs.test", "n1", NOW + 59, NOW + 120) is Claim.SEEN
    assert table.claim("other.test", "n1", NOW, NOW + 60) is Claim.NEW  # nonces are per orig
    assert table.claim("wcs.test", "n1", NOW + 60, NOW + 120) is Claim.NEW  # expired: forgotten


def test_a_full_run_of_slots_answers_full_and_expired_slots_are_reused(new_table: Tables) -> None:
    table = new_table(PROBE)
    assert [table.claim("o", f"n{i}", NOW, NOW + 10) for i in range(PROBE)] == [Claim.NEW] * PROBE
    assert table.claim("o", "one-more", NOW, NOW + 10) is Claim.FULL
    assert table.claim("o", "n7", NOW, NOW + 10) is Claim.SEEN  # a full table still knows its nonces
    assert table.claim("o", "one-more", NOW + 10, NOW + 20) is Claim.NEW  # all expired: room again
    assert table.live(NOW + 10) == 1


def test_a_nonce_past_an_expired_slot_is_still_found(monkeypatch: pytest.MonkeyPatch, new_table: Tables) -> None:
    # Every digest starts at slot 0: "a" lands in 0, "b" in 1; once "a" expires, a claim
    # of "b" must look past the reusable slot 0 instead of taking it.
    monkeypatch.setattr(nonce_table, "_digest", lambda orig, nonce: nonce.encode().ljust(16, b"\0"))
    table = new_table(PROBE)
    assert table.claim("o", "a", NOW, NOW + 5) is Claim.NEW
    assert table.claim("o", "b", NOW, NOW + 60) is Claim.NEW
    assert table.claim("o", "b", NOW + 10, NOW + 70) is Claim.SEEN
    assert table.claim("o", "c", NOW + 10, NOW + 70) is Claim.NEW  # takes the expired slot 0
    assert table.claim("o", "b", NOW + 11, NOW + 71) is Claim.SEEN


def _claim_all(table: NonceTable, nonces: list[str], out: Any) -> None:
    out.put(sum(table.claim("wcs.test", n, NOW, NOW + 60) is Claim.NEW for n in nonces))


def test_forked_processes_racing_on_the_same_nonces_accept_each_once(new_table: Tables) -> None:
    table = new_table(1 << 14)
    nonces = [f"nonce-{i}" for i in range(3000)]
    out = FORK.Queue()
    procs = [FORK.Process(target=_claim_all, args=(table, nonces[k:] + nonces[:k], out)) for k in (0, 1000, 2000)]
    for p in procs:
        p.start()
    accepted = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    assert sum(accepted) == len(nonces)  # each nonce accepted by exactly one process
    assert table.claim("wcs.test", "nonce-42", NOW, NOW + 60) is Claim.SEEN  # and the parent sees them


def _hold_the_lock(table: NonceTable, ready: Any) -> None:
    with table._locked():
        ready.set()
        time.sleep(60)


def test_a_process_killed_while_holding_the_table_does_not_wedge_the_others(new_table: Tables) -> None:
    table = new_table(PROBE)
    ready = FORK.Event()
    holder = FORK.Process(target=_hold_the_lock, args=(table, ready))
    holder.start()
    assert ready.wait(10)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    started = time.monotonic()
    assert table.claim("o", "after", NOW, NOW + 60) is Claim.NEW
    assert time.monotonic() - started < 2


def test_the_store_refuses_a_replay_at_once_and_writes_the_nonce_behind(tmp_path: Path, new_table: Tables) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    db = open_database(url)
    store = NonceStore(db, 30, new_table(PROBE))
    try:
        store.remember("wcs.test", "first")
        with pytest.raises(Unauthorized, match="nonce already used"):
            store.remember("wcs.test", "first")
        assert store.behind is not None and store.behind.flush()
        found = recent_nonces(str(tmp_path / "db.sqlite3"), 30)
        assert [(o, n) for o, n, _ in found] == [("wcs.test", "first")]
        assert found[0][2] == pytest.approx(time.time() + 60, abs=5)  # kept 2 × window
    finally:
        store.close()
        db.dispose()


def test_a_full_table_leaves_the_decision_to_the_database(tmp_path: Path, new_table: Tables) -> None:
    db = open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    table = new_table(PROBE)
    now = time.time()
    for i in range(PROBE):
        table.claim("filler", f"n{i}", now, now + 600)
    store = NonceStore(db, 30, table)
    try:
        store.remember("wcs.test", "overflow")  # no room: inserted in the database at once
        assert [n for _, n, _ in recent_nonces(str(tmp_path / "db.sqlite3"), 30)] == ["overflow"]
        with pytest.raises(Unauthorized, match="nonce already used"):
            store.remember("wcs.test", "overflow")
    finally:
        store.close()
        db.dispose()


def test_nonces_wait_in_memory_while_the_database_is_locked(tmp_path: Path, new_table: Tables) -> None:
    path = tmp_path / "db.sqlite3"
    db = open_database(f"sqlite:///{path}")
    store = NonceStore(db, 30, new_table(PROBE))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        store.remember("wcs.test", "while-locked")  # the call does not wait for the database
        with pytest.raises(Unauthorized):
            store.remember("wcs.test", "while-locked")
        assert time.monotonic() - started < 0.5
        time.sleep(0.3)  # the writer tries, and keeps the nonce
        assert recent_nonces_of(blocker) == []
        blocker.execute("ROLLBACK")
        wait_for(lambda: recent_nonces_of(blocker) == ["while-locked"], 15)
    finally:
        blocker.close()
        store.close()
        db.dispose()


def recent_nonces_of(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT nonce FROM nonces")]


def test_recent_nonces_leave_out_the_expired(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = open_database(f"sqlite:///{path}")
    now = dt.datetime.now(dt.UTC)
    try:
        with sqlite3.connect(path) as conn:
            conn.executemany("INSERT INTO nonces (orig, nonce, seen_at) VALUES (?, ?, ?)", [
                ("o", "old", (now - dt.timedelta(seconds=61)).isoformat(" ", "microseconds")[:26]),
                ("o", "recent", (now - dt.timedelta(seconds=59)).isoformat(" ", "microseconds")[:26])])
        assert [n for _, n, _ in recent_nonces(str(path), 30, now)] == ["recent"]
    finally:
        db.dispose()


def test_a_second_gateway_on_the_same_sqlite_database_is_refused(tmp_path: Path) -> None:
    database = str(tmp_path / "db.sqlite3")
    first = GatewayLock(database)
    try:
        # lockf locks belong to a process: the second gateway is another process.
        second = FORK.Process(target=_try_lock, args=(database,))
        second.start()
        second.join(10)
        assert second.exitcode == 3  # refused, with the message, not naming the file
    finally:
        first.release()
    GatewayLock(database, wait=0).release()  # free once the first let go


def _try_lock(path: str) -> None:
    try:
        GatewayLock(path, wait=0.3)
    except ConfigError as exc:
        os._exit(3 if "another raccord gateway" in exc.message and path not in exc.message else 4)
    os._exit(0)


def test_a_replay_is_refused_by_a_gateway_restarted_after_a_kill(tmp_path: Path) -> None:
    """Through ``raccord serve``: two workers share the table; after a kill -9 of the
    whole gateway, the restarted one loads the nonces back from the database."""
    url = f"sqlite:///{tmp_path}/raccord.sqlite3"
    with business() as server:
        config = write_config(tmp_path, server.url)
        serve = Serve(config, url, workers=2, role="gateway")
        try:
            path = serve.signed_path()
            assert serve.get(path).status_code == 200
            replays = [serve.session.get(serve.url + path, headers={"Connection": "close"}, timeout=10)
                       for _ in range(6)]  # new connections: both workers get some
            assert {r.status_code for r in replays} == {401}
            time.sleep(0.3)  # past the write-behind's batches
            for pid in [*serve.children(), serve.proc.pid]:
                os.kill(pid, signal.SIGKILL)
            serve.proc.wait(10)
        finally:
            serve.stop()
        again = Serve(config, url, workers=2, role="gateway")
        try:
            assert again.get(path).status_code == 401
            assert again.get(again.signed_path()).status_code == 200
        finally:
            again.stop()
