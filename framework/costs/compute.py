"""The territory's cost report: every instance's shared share and specific costs.

Periods: ``first`` is the first year (setup + yearly days), ``recurring`` every year
after (yearly days). Specific costs are the platform of an instance that runs its
own deployment and the days of its overrides; they land on that instance only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from framework.config.model import Cost, Instance, OverrideDecl, Territory
from framework.costs.money import days_cost, eur_to_cents, largest_remainder, proportional
from framework.costs.size import OverrideSize, measure
from framework.costs.split import split_shared

PERIODS = ("first", "recurring")


@dataclass(frozen=True)
class Amount:
    """Cents for the first year and for every following year."""

    first: int = 0
    recurring: int = 0

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.first + other.first, self.recurring + other.recurring)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.first - other.first, self.recurring - other.recurring)

    def get(self, period: str) -> int:
        return self.first if period == "first" else self.recurring


def cost_amount(cost: Cost, day_rate_eur: float) -> Amount:
    # Added as decimals: 0.05 + 2.3 is 2.3499999999999996 as floats, a cent off at .5.
    first = Decimal(str(cost.setup_days)) + Decimal(str(cost.yearly_days))
    return Amount(days_cost(first, day_rate_eur), days_cost(cost.yearly_days, day_rate_eur))


@dataclass(frozen=True)
class OverrideCost:
    """One line of the ledger: an instance's override, or a club's (``parts`` then
    holds each member's share of ``amount``, adding up to it to the cent)."""

    decl: OverrideDecl
    amount: Amount
    size: OverrideSize
    expired: bool
    parts: dict[str, Amount] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.decl.ledger_id

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self.parts) or (self.decl.instance,)


@dataclass(frozen=True)
class ProfileCost:
    name: str
    connector: str
    cost: Cost
    amount: Amount
    instances: tuple[str, ...]
    parts: dict[str, Amount]  # instance → its part before the floor

    def per_instance(self) -> Amount:
        """The average part (what "cost per instance" means when parts differ)."""
        n = len(self.instances) or 1
        return Amount(round(self.amount.first / n), round(self.amount.recurring / n))


@dataclass(frozen=True)
class InstanceCost:
    name: str
    title: str
    kind: str
    own_deployment: bool
    shared: Amount
    platform: Amount
    overrides: Amount

    @property
    def specific(self) -> Amount:
        return self.platform + self.overrides

    @property
    def total(self) -> Amount:
        return self.shared + self.specific


@dataclass(frozen=True)
class CostReport:
    territory: str
    day_rate_eur: float
    split: str
    floor_eur: float
    topology: str
    platform: Amount  # one deployment
    instances: list[InstanceCost]
    profiles: list[ProfileCost]
    overrides: list[OverrideCost]
    harmonised: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Amount:
        return sum((i.total for i in self.instances), Amount())

    @property
    def deployments(self) -> int:
        return sum(1 for i in self.instances if i.own_deployment)

    def instance(self, name: str) -> InstanceCost:
        return next(i for i in self.instances if i.name == name)


def weight_of(inst: Instance, split: str) -> Fraction:
    if split == "population":
        return Fraction(inst.population)
    if split == "weights":
        return Fraction(str(inst.weight))
    return Fraction(1)


def compute(territory: Territory, *, deployments: Collection[str] | None = None,
            topology: str = "hybrid", harmonised: Collection[str] = (),
            today: dt.date | None = None, tests_root: Path | None = None) -> CostReport:
    """The cost report; ``deployments`` (default: instances not hosted_by another) pay a
    platform each; overrides of ``harmonised`` instances are left out."""
    model = territory.costs
    rate = model.day_rate_eur
    own = set(deployments) if deployments is not None else {
        n for n, i in territory.instances.items() if i.own_deployment}
    profiles = _profiles(territory)
    shared = _shared(territory, profiles)
    overrides = _overrides(territory, set(harmonised), today or dt.date.today(), tests_root)
    platform = cost_amount(model.platform, rate)
    rows = []
    for name, inst in territory.instances.items():
        mine = sum((o.parts[name] for o in overrides if name in o.parts), Amount())
        rows.append(InstanceCost(name, inst.title, inst.kind, name in own,
                                 shared.get(name, Amount()), platform if name in own else Amount(), mine))
    return CostReport(territory.name, rate, model.split, model.floor_eur, topology, platform,
                      rows, profiles, overrides, tuple(sorted(harmonised)))


def _profiles(territory: Territory) -> list[ProfileCost]:
    result = []
    for name, profile in territory.profiles.items():
        bound = tuple(i for (i, p) in territory.bindings if p == name)
        result.append(ProfileCost(name, profile.connector, profile.cost,
                                  cost_amount(profile.cost, territory.costs.day_rate_eur), bound, {}))
    return result


def _shared(territory: Territory, profiles: list[ProfileCost]) -> dict[str, Amount]:
    """Split each period separately; fill each profile's parts on the way."""
    split = territory.costs.split
    bound = {p.name: {i: weight_of(territory.instances[i], split) for i in p.instances} for p in profiles}
    floor = eur_to_cents(territory.costs.floor_eur)
    by_period: dict[str, dict[str, int]] = {}
    parts_by_period: dict[str, dict[str, dict[str, int]]] = {}
    for period in PERIODS:
        costs = {p.name: p.amount.get(period) for p in profiles}
        by_period[period], parts_by_period[period] = split_shared(costs, bound, floor)
    for p in profiles:
        first, rec = parts_by_period["first"][p.name], parts_by_period["recurring"][p.name]
        p.parts.update({i: Amount(first[i], rec[i]) for i in first})
    names = by_period["first"].keys() | by_period["recurring"].keys()
    return {n: Amount(by_period["first"].get(n, 0), by_period["recurring"].get(n, 0)) for n in names}


def _overrides(territory: Territory, harmonised: set[str], today: dt.date,
               tests_root: Path | None) -> list[OverrideCost]:
    result = []
    clubs_done: set[str] = set()
    rate = territory.costs.day_rate_eur
    for binding in territory.bindings.values():
        decl = binding.override
        if decl is None or decl.instance in harmonised or decl.club in clubs_done:
            continue
        amount = cost_amount(Cost(decl.setup_days, decl.yearly_days), rate)
        expired = decl.review_by is not None and decl.review_by < today
        if decl.club is None:
            parts = {decl.instance: amount}
        else:
            clubs_done.add(decl.club)
            members = [m for m in decl.members if m not in harmonised]
            parts = club_parts(territory, decl.club, members, amount)
        result.append(OverrideCost(decl, amount, measure(binding, tests_root), expired, parts))
    return result


def club_parts(territory: Territory, club: str, members: list[str], amount: Amount) -> dict[str, Amount]:
    """A club's cost split among ``members``: by its explicit shares, else by the
    territory's split rule (equal, population, weights); no floor (a specific cost).
    Each period is rounded by largest remainder, so the parts add up to the cent."""
    shares = territory.clubs[club].shares if club in territory.clubs else {}
    split = territory.costs.split
    weights = {m: Fraction(str(shares[m])) if shares else weight_of(territory.instances[m], split)
               for m in members}
    first = largest_remainder(proportional(amount.first, weights), amount.first)
    recurring = largest_remainder(proportional(amount.recurring, weights), amount.recurring)
    return {m: Amount(first[m], recurring[m]) for m in members}
