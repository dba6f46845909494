"""The built-in health-check job: availability from connector.health_check()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework import JobRun, availability
from framework.app import Raccord
from framework.errors import Unavailable
from framework.outbound.health import HEALTH_JOB, check_health
from framework.testing import call, make_raccord
from tests.framework.outbound import flaky_connector
from tests.framework.outbound.servers import Reply, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def raccord(server: ScriptedServer, tmp_path: Path, database_url: str) -> Iterator[Raccord]:
    r = make_raccord(flaky_connector.territory(server.url, server.url,
                                               runtime="health_check_interval = 120"),
                     tmp_path, plugins=[flaky_connector], entry_points=False,
                     database_url=database_url)
    yield r
    r.close()


def test_health_check_records_down_with_the_reason_then_up(server: ScriptedServer,
                                                            raccord: Raccord) -> None:
    server.then(Reply(status=503))
    assert check_health(raccord, "metz", "tickets")["status"] == "down"
    row = availability.read(raccord.db, "metz", "tickets")
    assert row is not None and row.status == "down"
    assert row.reason == f"health check failed: 127.0.0.1:{server.port} answered HTTP 503"
    assert server.seen[-1].path == "/health"
    assert check_health(raccord, "metz", "tickets") == {"status": "up"}
    row = availability.read(raccord.db, "metz", "tickets")
    assert row is not None and row.status == "up"


def test_health_check_probes_through_an_open_breaker_and_closes_it(server: ScriptedServer,
                                                                   raccord: Raccord) -> None:
    server.default = Reply(status=500)
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - UpstreamError; the breaker opens
            call(raccord, "metz/tickets/fetch")
    with pytest.raises(Unavailable):
        call(raccord, "metz/tickets/fetch")
    server.default = Reply()
    assert check_health(raccord, "metz", "tickets") == {"status": "up"}
    assert call(raccord, "metz/tickets/fetch") == {"ok": True}  # closed again, no wait


def test_health_job_is_a_periodic_job_of_bindings_with_a_health_check(raccord: Raccord) -> None:
    bound = raccord.bound("metz", "tickets")
    spec = bound.jobs[HEALTH_JOB]
    assert spec.schedule == "every 2m"  # [runtime] health_check_interval = 120
    assert spec.func(bound.connector, JobRun()) == {"status": "up"}  # how a worker runs it
    assert HEALTH_JOB not in raccord.bound("metz", "quiet").jobs  # no health_check defined


def test_default_interval_is_five_minutes(server: ScriptedServer, tmp_path: Path) -> None:
    r = make_raccord(flaky_connector.territory(server.url, server.url), tmp_path,
                     plugins=[flaky_connector], entry_points=False)
    assert r.bound("metz", "tickets").jobs[HEALTH_JOB].schedule == "every 5m"
    r.close()


def test_the_scheduler_plans_the_health_job_of_each_checked_binding(raccord: Raccord) -> None:
    from framework.runtime.scheduler import plan

    planned = {(p.instance, p.profile, p.job) for p in plan(raccord)}
    assert {("metz", "tickets", HEALTH_JOB), ("woippy", "tickets", HEALTH_JOB)} <= planned
    assert ("metz", "quiet", HEALTH_JOB) not in planned
