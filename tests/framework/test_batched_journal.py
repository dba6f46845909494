"""The batched journal writer (framework.journal.BatchedJournal): a call never waits for
it — a full queue drops and counts, a flush in progress blocks nobody — and what it
writes reads back as SQLAlchemy wrote it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from framework import metrics
from framework.journal import BatchedJournal
from framework.storage import bulk, open_database
from framework.storage.db import Database
from framework.storage.schema import journal


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    d = open_database(database_url)
    yield d
    d.dispose()


def rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(journal).order_by(journal.c.id))]


def dropped(direction: str, reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value("raccord_journal_rows_dropped_total",
                                              {"direction": direction, "reason": reason})
    return value or 0.0


def row(n: int) -> dict[str, Any]:
    return {"instance": "metz", "profile": "t", "method": "GET", "url": f"http://x/{n}?apikey=K", "status": 200,
            "duration_ms": 1.5}


class BlockedAppend:
    """``Appender.append`` that stops until released: a flush in progress, as long as we like."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        original = bulk.Appender.append

        def append(appender: bulk.Appender, batch: Any) -> None:
            self.entered.set()
            assert self.release.wait(10), "never released"
            original(appender, batch)

        monkeypatch.setattr(bulk.Appender, "append", append)


def in_thread(target: Any) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_rows_read_back_as_written(db: Database) -> None:
    writer = BatchedJournal(db, "out", interval=3600, batch=10**9)
    before = dt.datetime.now(dt.UTC)
    writer.record(**row(1), error="boom")
    writer.record(instance="metz", url=None)
    assert writer.pending() == 2 and writer.flush() == 2 and writer.pending() == 0
    got = rows(db)
    assert [(r["direction"], r["instance"], r["url"], r["status"], r["error"]) for r in got] == [
        ("out", "metz", "http://x/1?apikey=***", 200, "boom"), ("out", "metz", None, None, None)]
    at = got[0]["at"]
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite keeps UTC, naive
    assert before - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert got[0]["duration_ms"] == 1.5
    writer.close()


def test_a_flush_writes_short_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    original = bulk.Appender.append

    def append(appender: bulk.Appender, batch: Any) -> None:
        sizes.append(len(batch))
        original(appender, batch)

    monkeypatch.setattr(bulk.Appender, "append", append)
    writer = BatchedJournal(db, "in", interval=3600, batch=10**9)
    writer.chunk = 3
    for n in range(7):
        writer.record(**row(n))
    assert writer.flush() == 7
    assert sizes == [3, 3, 1] and len(rows(db)) == 7
    writer.close()


def test_a_full_queue_drops_and_counts_new_rows(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    writer = BatchedJournal(db, "in", interval=3600, batch=10**9, max_queued=3)
    start = dropped("in", "queue_full")
    for n in range(5):
        writer.record(**row(n))
    assert writer.pending() == 3 and writer.dropped == 2
    assert dropped("in", "queue_full") == start + 2
    assert "journal queue full" in caplog.text and "K" not in caplog.text.replace("KiB", "")
    assert writer.flush() == 3
    assert [r["url"] for r in rows(db)] == [f"http://x/{n}?apikey=***" for n in range(3)]  # the first kept
    writer.record(**row(9))  # room again
    assert writer.flush() == 1
    writer.close()


def test_a_call_never_waits_for_a_flush_in_progress(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = BlockedAppend(monkeypatch)
    writer = BatchedJournal(db, "in", interval=3600, batch=10**9, max_queued=2)
    writer.record(**row(0))
    flusher = in_thread(writer.flush)
    assert blocked.entered.wait(5)  # the flush holds its rows, stopped inside its write
    def calls() -> None:
        for n in range(1, 6):
            writer.record(**row(n))

    caller = in_thread(calls)
    caller.join(5)
    assert not caller.is_alive(), "record() waited for the flush"
    assert writer.pending() == 2 and writer.dropped == 3  # queue full: dropped, not waited for
    blocked.release.set()
    flusher.join(5)
    assert writer.flush() == 2 and len(rows(db)) == 3
    writer.close()


def test_a_database_error_loses_the_chunk_says_so_and_counts_it(
        db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import sqlite3

    def fail(appender: bulk.Appender, batch: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    writer = BatchedJournal(db, "out", interval=3600, batch=10**9)
    writer.chunk = 2
    for n in range(3):
        writer.record(**row(n))
    start = dropped("out", "database_error")
    monkeypatch.setattr(bulk.Appender, "append", fail)
    assert writer.flush() == 0
    assert "lost 2 out journal rows: OperationalError: disk I/O error" in caplog.text
    assert dropped("out", "database_error") == start + 2 and writer.pending() == 1  # the rest waits
    monkeypatch.undo()
    assert writer.flush() == 1 and len(rows(db)) == 1
    writer.close()


def test_the_sqlite_file_replaced_is_refused(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "j.sqlite3"
    db = open_database(f"sqlite:///{path}")
    writer = BatchedJournal(db, "in", interval=3600, batch=10**9)
    writer.record(**row(1))
    path.unlink()
    assert writer.flush() == 0 and "deleted or replaced" in caplog.text
    assert not path.exists()  # no new empty file written instead
    writer.close()
    db.dispose()


def _redacted_by_urlsplit(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    from framework.journal import _redact_pair

    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["/", "?", "&", "=", "apikey", "signature", "Nonce", "q", "%41", "+", ":", "//",
                                 "\t", "é", "#", "@", "x", " ", "%"]), max_size=14).map("".join))
def test_redacting_a_path_gives_what_urlsplit_would(tail: str) -> None:
    from framework.journal import redact_url

    for url in (f"/{tail}", tail, f"http://u:p@h{tail}"):
        assert redact_url(url) == _redacted_by_urlsplit(url), url
