"""What-if scenarios: harmonising an instance, and the seed's three deployment models.

The seed ("Combien d'instances ?") compares three topologies. raccord keeps the same
connectors, profiles, bindings and overrides in each; only the platforms change:

- ``hybrid``: as configured — each instance not ``hosted_by`` another runs a platform.
- ``single``: one instance; the communes become categories of the metropolis'
  instance, so only the metropolis runs a platform.
- ``per-commune``: the metropolis and every instance of kind ``commune`` run their own
  platform; ``multicommunal`` instances are no longer needed and run none; other
  instances (a ``syndicat``) keep their configured deployment.

The metropolis is the instance of kind ``metropole`` (else the territory's ``triage``
instance, else the most populous instance with its own deployment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from framework.config.model import Territory
from framework.costs.compute import Amount, CostReport, compute

TOPOLOGIES = ("single", "per-commune", "hybrid")


def metropolis(territory: Territory) -> str:
    instances = territory.instances
    for name, inst in instances.items():
        if inst.kind == "metropole":
            return name
    if territory.triage is not None and territory.triage in instances:
        return territory.triage
    own = [i for i in instances.values() if i.own_deployment] or list(instances.values())
    return min(own, key=lambda i: (-i.population, i.name)).name


def deployments(territory: Territory, topology: str) -> set[str]:
    """The instances that run (and pay for) a platform under ``topology``."""
    instances = territory.instances
    if topology == "hybrid":
        return {n for n, i in instances.items() if i.own_deployment}
    if topology == "single":
        return {metropolis(territory)}
    if topology == "per-commune":
        return {metropolis(territory)} | {
            n for n, i in instances.items()
            if i.kind == "commune" or (i.own_deployment and i.kind != "multicommunal")}
    raise ValueError(f"unknown topology {topology!r}; use one of {', '.join(TOPOLOGIES)}")


def report_for(territory: Territory, topology: str = "hybrid", *, harmonised: Collection[str] = (),
               today: dt.date | None = None, tests_root: Path | None = None) -> CostReport:
    return compute(territory, deployments=deployments(territory, topology), topology=topology,
                   harmonised=harmonised, today=today, tests_root=tests_root)


@dataclass(frozen=True)
class TopologyRow:
    topology: str
    deployments: int
    platform: Amount  # all platforms together
    total: Amount


def compare_topologies(territory: Territory, *, today: dt.date | None = None,
                       tests_root: Path | None = None) -> list[TopologyRow]:
    rows = []
    for topology in TOPOLOGIES:
        report = report_for(territory, topology, today=today, tests_root=tests_root)
        platform = sum((i.platform for i in report.instances), Amount())
        rows.append(TopologyRow(topology, report.deployments, platform, report.total))
    return rows


@dataclass(frozen=True)
class Harmonisation:
    instance: str
    before: Amount  # the instance's total as configured
    after: Amount  # its total without its overrides
    territory_before: Amount
    territory_after: Amount
    overrides: tuple[str, ...]

    @property
    def saving(self) -> Amount:
        return self.before - self.after


def harmonise(territory: Territory, instance: str, topology: str = "hybrid", *,
              today: dt.date | None = None, tests_root: Path | None = None,
              ) -> tuple[CostReport, Harmonisation]:
    """What ``instance`` (and the territory) would save without its overrides.

    Shared shares do not move: an instance that harmonises still binds its profiles.
    """
    if instance not in territory.instances:
        raise KeyError(instance)
    before = report_for(territory, topology, today=today, tests_root=tests_root)
    after = report_for(territory, topology, harmonised=(instance,), today=today, tests_root=tests_root)
    ids = tuple(o.id for o in before.overrides if instance in o.members)
    return after, Harmonisation(instance, before.instance(instance).total, after.instance(instance).total,
                                before.total, after.total, ids)
