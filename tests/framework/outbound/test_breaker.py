"""Circuit breaker and availability, end to end through Raccord and a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework import availability
from framework.app import Raccord
from framework.errors import Unavailable, UpstreamError
from framework.outbound.breaker import CircuitBreaker
from framework.testing import call, make_raccord
from tests.framework.outbound import flaky_connector
from tests.framework.outbound.servers import Reply, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def raccord(server: ScriptedServer, tmp_path: Path, database_url: str) -> Iterator[Raccord]:
    r = make_raccord(flaky_connector.territory(server.url, server.url), tmp_path,
                     plugins=[flaky_connector], entry_points=False, database_url=database_url)
    yield r
    r.close()


def test_breaker_opens_answers_503_without_calling_then_half_opens_and_closes(
        server: ScriptedServer, raccord: Raccord) -> None:
    server.default = Reply(status=500)
    for _ in range(2):  # breaker_threshold = 2 for metz/tickets
        with pytest.raises(UpstreamError):
            call(raccord, "metz/tickets/fetch")
    down = availability.read(raccord.db, "metz", "tickets")
    assert down is not None and down.status == "down"
    assert down.reason == f"127.0.0.1:{server.port} answered HTTP 500" and down.failures == 2

    hits = server.hits
    with pytest.raises(Unavailable, match=r"metz/tickets is unavailable since \d{4}-\d\d-\d\d "
                                          r"\d\d:\d\d:\d\d UTC: .* answered HTTP 500") as info:
        call(raccord, "metz/tickets/fetch")
    assert info.value.status == 503 and "2 consecutive failures" in (info.value.hint or "")
    assert server.hits == hits  # the server was not called

    # Other bindings of the same connector are not affected.
    server.default = Reply()
    assert call(raccord, "woippy/tickets/fetch") == {"ok": True}

    time.sleep(0.35)  # breaker_reset_seconds = 0.3: one probe goes through and succeeds
    assert call(raccord, "metz/tickets/fetch") == {"ok": True}
    up = availability.read(raccord.db, "metz", "tickets")
    assert up is not None and up.status == "up" and up.reason is None
    assert call(raccord, "metz/tickets/fetch") == {"ok": True}


def test_failed_probe_reopens_the_circuit(server: ScriptedServer, raccord: Raccord) -> None:
    server.default = Reply(status=503)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            call(raccord, "metz/tickets/fetch")
    time.sleep(0.35)
    with pytest.raises(UpstreamError):  # the probe reaches the server and fails
        call(raccord, "metz/tickets/fetch")
    hits = server.hits
    with pytest.raises(Unavailable):
        call(raccord, "metz/tickets/fetch")
    assert server.hits == hits


def test_availability_is_written_on_transitions_not_every_call(
        server: ScriptedServer, raccord: Raccord, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []
    real = availability.write
    monkeypatch.setattr(availability, "write", lambda *a, **kw: (writes.append(kw["status"]),
                                                                  real(*a, **kw))[1])
    for _ in range(5):
        call(raccord, "metz/tickets/fetch")
    assert writes == ["up"]  # first outcome known in this process, then nothing


def test_breaker_lets_a_single_probe_through_when_half_open() -> None:
    now = [0.0]
    breaker = CircuitBreaker("x/y", threshold=1, reset_seconds=10, clock=lambda: now[0])
    breaker.failure("boom")
    with pytest.raises(Unavailable):
        breaker.before_call()
    now[0] = 10.0
    breaker.before_call()  # the probe
    with pytest.raises(Unavailable):
        breaker.before_call()  # concurrent callers still get 503 while it runs
    breaker.success()
    breaker.before_call()
    assert breaker.state == "closed"


def test_a_probe_that_ends_in_a_bug_does_not_keep_the_circuit_shut(server: ScriptedServer) -> None:
    """The half-open probe may end in an unexpected exception (here the caller's
    ``accept`` check crashes): the next call must be able to probe again, or the
    binding stays unavailable until the process restarts."""
    from framework.outbound import OutboundHTTP
    from framework.outbound.policy import OutboundPolicy

    breaker = CircuitBreaker("metz/tickets", threshold=1, reset_seconds=0.0)
    http = OutboundHTTP("metz/tickets", policy=OutboundPolicy(retries=0), breaker=breaker)
    server.then(Reply(status=500))
    with pytest.raises(UpstreamError):
        http.request("GET", f"{server.url}/x")
    assert breaker.state == "open"

    def crash(response: object) -> bool:
        raise RuntimeError("bug in the caller's check")

    server.then(Reply(status=500))
    with pytest.raises(RuntimeError):
        http.request("GET", f"{server.url}/x", accept=crash)  # the probe
    server.then(Reply(status=200))
    assert http.request("GET", f"{server.url}/x").status_code == 200
    assert breaker.state == "closed"
    http.close()


def test_a_down_report_the_database_refused_is_made_again_by_the_next_call() -> None:
    """The opening's availability write failed (database busy): the next call refused by
    the open circuit reports it again, so the row does not stay "up"."""
    recorded: list[str] = []
    attempts = {"left_to_fail": 1}

    def listener(status: str, since: object, reason: str | None, failures: int) -> bool:
        if attempts["left_to_fail"]:
            attempts["left_to_fail"] -= 1
            return False
        recorded.append(status)
        return True

    breaker = CircuitBreaker("x/y", threshold=1, reset_seconds=60, listener=listener)
    breaker.failure("cannot reach the server")
    assert recorded == []  # the write was refused
    with pytest.raises(Unavailable):
        breaker.before_call()
    assert recorded == ["down"]
    with pytest.raises(Unavailable):
        breaker.before_call()
    assert recorded == ["down"]  # once recorded, not again
