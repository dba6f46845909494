"""The harmonisation advisor (``raccord costs --advise``).

« L'agglomération … doit jouer le rôle d'organisme mutualisateur en harmonisant tout ce
qui peut l'être. » Overrides of several instances that do the same thing — the same
shared setting set to the same value, the same endpoint (job, extension) replaced by
equivalent code — are one specific paid several times. For each such group the advisor
shows two ways out, to the cent:

- **promote** it into the common project: every member stops paying its override
  (the saving is each member's override cost; the common project then carries the
  work, to be costed on the profile);
- **club** it: one override declared once (``[clubs.<name>]``, docs/costs.md) costing
  the largest of the members' declared days (the work is done once), split among the
  members by the territory's split rule; each member saves its cost minus its part.

It also lists the overrides past their ``review_by``: the moment to ask the question.

Code is "equivalent" when the replacing functions have the same syntax tree once the
function's name, its docstring, comments and formatting are set aside.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from framework.config.model import Binding, Cost, Territory
from framework.costs.compute import Amount, CostReport, OverrideCost, club_parts, cost_amount
from framework.errors import PluginError
from framework.overrides import apply_override

Item = tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """Equivalent overrides of one profile, in several instances."""

    profile: str
    what: tuple[str, ...]  # "setting limit = 15", "replaces endpoint search (same code)"
    overrides: tuple[str, ...]  # ledger ids
    members: tuple[str, ...]
    costs: dict[str, Amount]  # member → what its override costs it now
    club_cost: Amount  # one override for all: the largest declared days
    club_parts: dict[str, Amount]
    overdue: tuple[str, ...]  # members whose override is past review_by

    @property
    def promote_saving(self) -> Amount:
        return sum(self.costs.values(), Amount())

    def club_saving(self, member: str) -> Amount:
        return self.costs[member] - self.club_parts[member]

    @property
    def club_total_saving(self) -> Amount:
        return self.promote_saving - self.club_cost


@dataclass(frozen=True)
class Advice:
    candidates: list[Candidate]
    overdue: list[OverrideCost]

    @property
    def promote_saving(self) -> Amount:
        return sum((c.promote_saving for c in self.candidates), Amount())


def advise(territory: Territory, report: CostReport) -> Advice:
    """Candidates for harmonisation among ``report``'s overrides (clubs are left out:
    they are already one specific)."""
    groups: dict[tuple[str, frozenset[Item]], list[OverrideCost]] = {}
    for cost in report.overrides:
        if cost.decl.club is not None:
            continue
        items = signature(territory.binding(cost.decl.instance, cost.decl.profile))
        if items:
            groups.setdefault((cost.decl.profile, items), []).append(cost)
    candidates = [_candidate(territory, profile, items, found)
                  for (profile, items), found in sorted(groups.items(), key=lambda g: (g[0][0], sorted(g[0][1])))
                  if len(found) >= 2]
    return Advice(candidates, [o for o in report.overrides if o.expired])


def _candidate(territory: Territory, profile: str, items: frozenset[Item],
               found: list[OverrideCost]) -> Candidate:
    members = tuple(o.decl.instance for o in found)
    largest = max(found, key=lambda o: (o.decl.setup_days + o.decl.yearly_days, o.decl.yearly_days))
    club_cost = cost_amount(Cost(largest.decl.setup_days, largest.decl.yearly_days), territory.costs.day_rate_eur)
    return Candidate(
        profile=profile, what=tuple(describe(i) for i in sorted(items)), overrides=tuple(o.id for o in found),
        members=members, costs={o.decl.instance: o.amount for o in found}, club_cost=club_cost,
        club_parts=club_parts(territory, "", list(members), club_cost),
        overdue=tuple(o.decl.instance for o in found if o.expired))


def signature(binding: Binding) -> frozenset[Item]:
    """What an override does, as comparable items (empty when it cannot be applied)."""
    decl = binding.override
    assert decl is not None
    items: set[Item] = {("setting", name, repr(binding.settings[name].value))
                        for name in decl.settings if name in binding.settings}
    if decl.plugin is not None:
        try:
            builder = apply_override(binding)
        except PluginError:
            return frozenset()
        assert builder is not None
        items.update((change.kind, change.target, fingerprint(change.func)) for change in builder.changes)
    return frozenset(items)


def fingerprint(func: Callable[..., Any]) -> str:
    """The function's syntax tree without its name, docstring, comments or layout."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return f"{func.__module__}.{func.__qualname__}"  # cannot read it: only itself is equal
    node = tree.body[0]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        node.name = "_"
        node.decorator_list = []
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def describe(item: Item) -> str:
    if item[0] == "setting":
        return f"setting {item[1]} = {item[2]}"
    verb, _, noun = item[0].partition("_")
    return f"{ {'replace': 'replaces', 'add': 'adds', 'set': 'sets'}.get(verb, verb)} {noun} {item[1]} (same code)"
