"""The gateways' shared nonce table (SQLite): one decision for every process using the
database, nothing wedged by a process killed mid-claim, nonces written behind to the
database, a missing, damaged or replaced table file rebuilt from it."""

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

from framework.errors import Unauthorized, Unavailable
from framework.gateway import nonce_table
from framework.gateway.nonce_table import HEADER, PROBE, Claim, NonceTable
from framework.gateway.nonces import FLUSH_EVERY, NonceStore, recent_nonces
from framework.storage import open_database
from tests.framework.serve.harness import Serve, business, wait_for, write_config

NOW = 1_800_000_000.0
FORK = multiprocessing.get_context("fork")
Tables = Callable[[int], NonceTable]


@pytest.fixture
def new_table(tmp_path: Path) -> Iterator[Tables]:
    made: list[NonceTable] = []

    def make(slots: int = PROBE) -> NonceTable:
        made.append(NonceTable(str(tmp_path / f"table-{len(made)}"), lambda: [], slots))
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
    store = NonceStore(db, 30)
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


def test_a_full_table_is_a_503_never_a_guess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    store = NonceStore(db, 30)
    try:
        assert store.table is not None
        monkeypatch.setattr(store.table, "claim", lambda *a: Claim.FULL)
        with pytest.raises(Unavailable, match="too many signed calls"):
            store.remember("wcs.test", "overflow")
    finally:
        store.close()
        db.dispose()


def test_nonces_wait_in_memory_while_the_database_is_locked(tmp_path: Path, new_table: Tables) -> None:
    path = tmp_path / "db.sqlite3"
    db = open_database(f"sqlite:///{path}")
    store = NonceStore(db, 30)
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


def test_a_missing_or_damaged_table_is_rebuilt_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = open_database(f"sqlite:///{path}")
    try:
        first = NonceStore(db, 30)
        first.remember("wcs.test", "before")
        assert first.behind is not None and first.behind.flush()
        table = Path(f"{path}-nonces")
        def replace_with(content: bytes) -> None:
            aside = tmp_path / "aside"
            aside.write_bytes(content)
            aside.replace(table)

        for damage in (table.unlink, lambda: replace_with(b"garbage" * 100),
                       lambda: replace_with(HEADER.pack(b"raccord-nonces\0\0", 1, 256) + bytes(256 * 24)),
                       lambda: table.write_bytes(b"")):  # truncated in place
            damage()
            # The running store notices the file changed and moves to the rebuilt one.
            with pytest.raises(Unauthorized, match="nonce already used"):
                first.remember("wcs.test", "before")
            assert table.stat().st_size == HEADER.size + nonce_table.DEFAULT_SLOTS * nonce_table.SLOT.size
        first.close()
    finally:
        db.dispose()


def _remember_in_child(url: str, nonce: str, out: Any) -> None:
    db = open_database(url)
    store = NonceStore(db, 30)
    try:
        store.remember("wcs.test", nonce)
        out.put("accepted")
    except Unauthorized:
        out.put("refused")
    finally:
        store.close()


def test_unrelated_processes_on_one_database_share_the_table(tmp_path: Path) -> None:
    """Two gateways (not forks of one master) on the same SQLite file: the second
    refuses what the first accepted, before the database has it."""
    url = f"sqlite:///{tmp_path}/db.sqlite3"
    open_database(url).dispose()
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
    out = spawn.Queue()
    for _ in range(2):
        child = spawn.Process(target=_remember_in_child, args=(url, "shared", out))
        child.start()
        child.join(60)
    assert [out.get(timeout=10), out.get(timeout=10)] == ["accepted", "refused"]


def test_a_replay_is_refused_by_a_gateway_restarted_after_a_kill(tmp_path: Path) -> None:
    """Through ``raccord serve``: two workers share the table; a kill -9 of the whole
    gateway loses none of it (the table is a file); without its file, the database's
    copy rebuilds it."""
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
            time.sleep(FLUSH_EVERY + 0.5)  # written behind: the database has it too
            for pid in [*serve.children(), serve.proc.pid]:
                os.kill(pid, signal.SIGKILL)
            serve.proc.wait(10)
        finally:
            serve.stop()
        again = Serve(config, url, workers=2, role="gateway")
        try:
            assert again.get(path).status_code == 401
            fresh = again.signed_path()
            assert again.get(fresh).status_code == 200
        finally:
            again.stop()
        Path(f"{tmp_path}/raccord.sqlite3-nonces").unlink()
        rebuilt = Serve(config, url, workers=2, role="gateway")
        try:
            assert rebuilt.get(path).status_code == 401
            assert rebuilt.get(fresh).status_code == 401  # written behind before the stop
        finally:
            rebuilt.stop()
