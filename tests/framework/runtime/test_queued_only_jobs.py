"""A job declared with ``schedule=None`` runs only when queued: the scheduler never
starts it with an empty payload, unless a profile gives it a schedule."""

from __future__ import annotations

from typing import Any, ClassVar

from framework import Connector, JobRun, hookimpl, job
from framework.connector import describe
from framework.docgen import connector_page
from framework.runtime.scheduler import plan
from framework.testing import TerritoryFactory, run_queued


class Pusher(Connector):
    """Pushes what it is given."""

    id = "kit_pusher"
    pushed: ClassVar[list[dict[str, Any]]] = []

    @job(schedule=None, description="Push one payload (queued by an endpoint).")
    def push(self, run: JobRun) -> None:
        Pusher.pushed.append(dict(run.payload))

    @job(schedule="hourly", description="A periodic job beside it.")
    def tick(self, run: JobRun) -> None:
        pass


class _Plugin:
    @hookimpl
    def raccord_register_connectors(self, register: Any) -> None:
        register.add(Pusher)


TOML = '[profiles.p]\nconnector = "kit_pusher"\n[instances.metz]\nprofiles = ["p"]\n'


def test_the_scheduler_leaves_queued_only_jobs_alone(raccord_territory: TerritoryFactory) -> None:
    raccord = raccord_territory(TOML, plugins=(_Plugin(),), entry_points=False)
    assert [p.job for p in plan(raccord)] == ["tick"]
    queue = raccord.bound("metz", "p").connector.ctx.queue
    assert queue is not None
    queue.enqueue("push", {"ticket": 1})
    Pusher.pushed.clear()
    assert run_queued(raccord) == 1 and Pusher.pushed == [{"ticket": 1}]


def test_a_profile_may_schedule_it(raccord_territory: TerritoryFactory) -> None:
    toml = TOML.replace('connector = "kit_pusher"\n',
                        'connector = "kit_pusher"\njobs = { push = { schedule = "daily" } }\n')
    raccord = raccord_territory(toml, plugins=(_Plugin(),), entry_points=False)
    assert sorted(p.job for p in plan(raccord)) == ["push", "tick"]


def test_its_documentation_says_when_it_runs() -> None:
    assert "| `push` | when queued |" in connector_page(describe(Pusher))
