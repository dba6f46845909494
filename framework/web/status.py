"""What the status page shows, gathered from the territory and the database.

Scope: an admin client of the metropolis sees the whole territory; another admin
client its own instance, every instance hosted by it (down the ``hosted_by`` tree) and
every instance that grants it — a commune's admin sees only its commune. The costs are the territory's shared
document (the steering committee's): they are shown whole.

Circuit state: each process keeps its own breaker and writes availability rows on
its transitions; the page reads those rows (down = the circuit opened somewhere).
The last successful call is the newest outbound journal row of the binding without
an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from framework import availability
from framework.config.model import Client, Instance, Territory
from framework.storage.db import Database
from framework.storage.schema import jobs, journal


def scope(territory: Territory, client: Client) -> list[str]:
    """The instances ``client`` administers, in file order: all of them for a client of
    the metropolis (the territory's own administrators)."""
    from framework.costs.scenarios import metropolis

    if client.instance == metropolis(territory):
        return list(territory.instances)
    children: dict[str, list[str]] = {}
    for name, inst in territory.instances.items():
        if inst.hosted_by:
            children.setdefault(inst.hosted_by, []).append(name)
    seen: set[str] = set()
    todo = [client.instance, *(n for n, i in territory.instances.items() if client.id in i.grants)]
    while todo:
        name = todo.pop()
        if name not in seen and name in territory.instances:
            seen.add(name)
            todo.extend(children.get(name, []))
    return [n for n in territory.instances if n in seen]


@dataclass
class Node:
    instance: Instance
    children: list[Node] = field(default_factory=list)


def tree(territory: Territory, names: Iterable[str]) -> list[Node]:
    """The ``hosted_by`` forest of ``names`` (an instance whose host is out of scope is a root)."""
    wanted = list(names)
    nodes = {n: Node(territory.instances[n]) for n in wanted}
    roots = []
    for name in wanted:
        host = territory.instances[name].hosted_by
        if host in nodes:
            nodes[host].children.append(nodes[name])
        else:
            roots.append(nodes[name])
    return roots


@dataclass(frozen=True)
class BindingStatus:
    instance: str
    profile: str
    connector: str
    status: str  # up | down | unknown
    since: dt.datetime | None
    reason: str | None
    failures: int
    last_success: dt.datetime | None
    queue: Mapping[str, int]

    @property
    def circuit(self) -> str:
        return "open" if self.status == "down" else "closed"


def bindings(territory: Territory, db: Database, names: Iterable[str]) -> list[BindingStatus]:
    wanted = set(names)
    rows = availability.read_all(db)
    success = last_successes(db)
    depth = queue_depths(db)
    result = []
    for (inst, prof), binding in territory.bindings.items():
        if inst not in wanted:
            continue
        row = rows.get((inst, prof))
        result.append(BindingStatus(
            inst, prof, binding.connector.id, row.status if row else "unknown", row.since if row else None,
            row.reason if row else None, row.failures if row else 0, success.get((inst, prof)),
            depth.get((inst, prof), {})))
    return result


def last_successes(db: Database) -> dict[tuple[str, str], dt.datetime]:
    query = (select(journal.c.instance, journal.c.profile, func.max(journal.c.at))
             .where(journal.c.direction == "out", journal.c.err_class.is_(None))
             .group_by(journal.c.instance, journal.c.profile))
    with db.engine.connect() as conn:
        return {(i, p): _utc(at) for i, p, at in conn.execute(query) if at is not None}


def queue_depths(db: Database) -> dict[tuple[str, str], dict[str, int]]:
    query = select(jobs.c.instance, jobs.c.profile, jobs.c.status, func.count()).group_by(
        jobs.c.instance, jobs.c.profile, jobs.c.status)
    result: dict[tuple[str, str], dict[str, int]] = {}
    with db.engine.connect() as conn:
        for inst, prof, status, n in conn.execute(query):
            result.setdefault((inst, prof), {})[status] = int(n)
    return result


def dead_letters(db: Database, names: Iterable[str], limit: int = 100) -> list[Any]:
    from framework.runtime.queue import list_jobs

    wanted = set(names)
    return [j for j in list_jobs(db, status="dead", limit=limit * 4) if j.instance in wanted][:limit]


def dispatch_statistics(raccord: Any, names: Iterable[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(binding, rows)`` of each dispatch binding in scope (issue 12's statistics: per
    category and commune, requests routed automatically and those that needed triage);
    nothing when the dispatch connector is not bound."""
    from framework.storage.requests import dispatch_stats

    wanted = set(names)
    found = []
    for (inst, _), binding in raccord.territory.bindings.items():
        if inst in wanted and binding.connector.id == "dispatch":
            found.append((binding.id, dispatch_stats(raccord.db, source=inst)))
    return found


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
