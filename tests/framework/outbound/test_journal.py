"""Outbound journal: every request recorded, URLs redacted, retention purge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from framework.errors import UpstreamError, UpstreamTimeout
from framework.outbound import OutboundHTTP
from framework.outbound.journal_writer import JournalWriter
from framework.outbound.policy import OutboundPolicy
from framework.outbound.retention import purge_cache, purge_journal
from framework.storage import open_database
from framework.storage.db import Database
from framework.storage.schema import cache, journal
from framework.testing import call, make_raccord
from tests.framework.outbound import flaky_connector
from tests.framework.outbound.servers import Reply, ScriptedServer


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    d = open_database(database_url)
    yield d
    d.dispose()


def rows(db: Database) -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(journal).order_by(journal.c.id))]


def test_every_request_is_journaled_without_credentials(db: Database) -> None:
    writer = JournalWriter(db, interval=60)
    http = OutboundHTTP("metz/tickets", journal=writer,
                        policy=OutboundPolicy(read_timeout=0.3, retries=0))
    with ScriptedServer() as server:
        server.then(Reply(), Reply(status=502), Reply(delay=1))
        secret_url = server.url.replace("http://", "http://admin:s3cret@") + "/api?apikey=K3Y&q=rue"
        http.get_json(secret_url)
        with pytest.raises(UpstreamError):
            http.get_json(f"{server.url}/api?token=T0K")
        with pytest.raises(UpstreamTimeout):
            http.get_json(f"{server.url}/slow")
        assert server.seen[0].headers.get("Authorization", "").startswith("Basic ")
    assert writer.flush() == 3
    got = rows(db)
    assert [(r["direction"], r["instance"], r["profile"], r["method"], r["status"]) for r in got] == [
        ("out", "metz", "tickets", "GET", 200), ("out", "metz", "tickets", "GET", 502),
        ("out", "metz", "tickets", "GET", None)]
    assert got[0]["url"] == f"http://127.0.0.1:{server.port}/api?apikey=***&q=rue"
    assert got[1]["err_class"] == "raccord.upstream_error"
    assert got[2]["err_class"] == "raccord.upstream_timeout"
    assert all(float(r["duration_ms"]) > 0 for r in got)  # type: ignore[arg-type]
    assert got[2]["duration_ms"] >= 300  # type: ignore[operator]
    text = repr(got)
    assert "s3cret" not in text and "K3Y" not in text and "T0K" not in text and "admin" not in text
    http.close()
    writer.close()


def test_the_background_thread_writes_batches(db: Database) -> None:
    writer = JournalWriter(db, interval=0.05)
    for n in range(10):
        writer.record(instance="metz", profile="tickets", method="GET", url=f"http://x/{n}",
                      status=200, duration_ms=1.0)
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while len(rows(db)) < 10 and dt.datetime.now() < deadline:
        writer._wake.wait(0.05)
    assert len(rows(db)) == 10
    writer.close()


def test_close_of_the_runtime_flushes_the_journal(tmp_path: Path, database_url: str) -> None:
    with ScriptedServer() as server:
        r = make_raccord(flaky_connector.territory(server.url, server.url), tmp_path,
                         plugins=[flaky_connector], entry_points=False, database_url=database_url)
        call(r, "metz/tickets/fetch")
        r.close()
    d = open_database(database_url)
    assert [(x["instance"], x["url"]) for x in rows(d)] == [("metz", f"{server.url}/fetch")]
    d.dispose()


def test_purge_keeps_the_retention_window(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.engine.begin() as conn:
        conn.execute(insert(journal), [
            {"at": now - dt.timedelta(days=40), "direction": "out", "instance": "metz"},
            {"at": now - dt.timedelta(days=2), "direction": "in", "instance": "metz"},
        ])
        conn.execute(insert(cache), [
            {"instance": "metz", "profile": "t", "key": "old", "expires_at": now - dt.timedelta(seconds=1),
             "data": {}},
            {"instance": "metz", "profile": "t", "key": "new", "expires_at": now + dt.timedelta(hours=1),
             "data": {}},
        ])
    assert purge_journal(db, 30) == 1
    assert [r["direction"] for r in rows(db)] == ["in"]
    assert purge_cache(db) == 1


def test_purge_expired_uses_the_runtime_retention(tmp_path: Path, database_url: str) -> None:
    from framework.outbound.retention import purge_expired

    with ScriptedServer() as server:
        r = make_raccord(flaky_connector.territory(server.url, server.url,
                                                   runtime="journal_retention_days = 7"),
                         tmp_path, plugins=[flaky_connector], entry_points=False,
                         database_url=database_url)
    now = dt.datetime.now(dt.UTC)
    with r.db.engine.begin() as conn:
        conn.execute(insert(journal), [
            {"at": now - dt.timedelta(days=8), "direction": "out", "instance": "metz"},
            {"at": now - dt.timedelta(days=6), "direction": "out", "instance": "metz"}])
    assert purge_expired(r) == {"journal": 1, "cache": 0}
    r.close()
