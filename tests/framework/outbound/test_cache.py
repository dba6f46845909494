"""Endpoint answer cache: hits, misses, GET only, never shared between instances."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.app import Raccord
from framework.testing import call, make_raccord
from tests.framework.outbound import flaky_connector
from tests.framework.outbound.servers import Reply, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def open_runtime(server: ScriptedServer, tmp_path: Path, database_url: str) -> Raccord:
    return make_raccord(flaky_connector.territory(server.url, server.url), tmp_path,
                        plugins=[flaky_connector], entry_points=False, database_url=database_url)


def test_hits_misses_and_isolation_between_instances(server: ScriptedServer, tmp_path: Path,
                                                     database_url: str) -> None:
    r = open_runtime(server, tmp_path, database_url)
    server.then(Reply(body={"who": "metz"}), Reply(body={"who": "woippy"}), Reply(body={"who": "other"}))
    first = call(r, "metz/tickets/lookup", q="rue")
    assert first == {"q": "rue", "server": {"who": "metz"}}
    first["server"]["who"] = "mutated by the caller"
    assert call(r, "metz/tickets/lookup", q="rue") == {"q": "rue", "server": {"who": "metz"}}
    assert server.hits == 1  # hit
    # Same connector, same query, another instance: its own answer, never Metz's.
    assert call(r, "woippy/tickets/lookup", q="rue")["server"] == {"who": "woippy"}
    assert call(r, "metz/tickets/lookup", q="place")["server"] == {"who": "other"}  # other params
    assert server.hits == 3
    assert r.outbound.cache.hits == 1 and r.outbound.cache.misses == 3
    r.close()

    # Another process (a fresh runtime) reads the shared table: still a hit, still per instance.
    again = open_runtime(server, tmp_path, database_url)
    assert call(again, "metz/tickets/lookup", q="rue")["server"] == {"who": "metz"}
    assert call(again, "woippy/tickets/lookup", q="rue")["server"] == {"who": "woippy"}
    assert server.hits == 3
    again.close()


def test_errors_and_undeclared_endpoints_are_not_cached(server: ScriptedServer, tmp_path: Path,
                                                        database_url: str) -> None:
    r = open_runtime(server, tmp_path, database_url)
    server.then(Reply(status=404))
    with pytest.raises(Exception):  # noqa: B017 - the 404 is an UpstreamError
        call(r, "metz/tickets/lookup", q="rue")
    assert call(r, "metz/tickets/lookup", q="rue")["server"] == {"ok": True}
    call(r, "metz/tickets/fetch")
    call(r, "metz/tickets/fetch")  # cache_seconds = 0: always called
    assert server.hits == 4
    r.close()


def test_an_answer_is_never_served_to_another_acting_user(server: ScriptedServer, tmp_path: Path,
                                                          sqlite_url: str) -> None:
    r = open_runtime(server, tmp_path, sqlite_url)
    try:
        server.then(Reply(body={"for": "alice"}), Reply(body={"for": "bob"}))
        alice, bob = {"email": "alice@example.org"}, {"email": "bob@example.org"}
        assert r.invoke("metz", "tickets", "lookup", params={"q": "x"}, user=alice)["server"] == {"for": "alice"}
        assert r.invoke("metz", "tickets", "lookup", params={"q": "x"}, user=bob)["server"] == {"for": "bob"}
        assert r.invoke("metz", "tickets", "lookup", params={"q": "x"}, user=alice)["server"] == {"for": "alice"}
        assert server.hits == 2  # alice's second call was a hit, bob's never was
    finally:
        r.close()
