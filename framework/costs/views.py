"""What the HTML pages show of the costs: charts and the per-instance cost sheet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from framework.costs.charts import Bar, stacked_bars
from framework.costs.compute import Amount, CostReport, OverrideCost, ProfileCost
from framework.costs.scenarios import TopologyRow


def charts(report: CostReport, topologies: list[TopologyRow] | None, t: Callable[..., str]) -> dict[str, str]:
    """The three SVG pictures (the topology one only when ``topologies`` is given)."""
    result = {"pays": stacked_bars(
        "chart-pays", t("chart_pays"), [t("shared"), t("platform"), t("specific")],
        [Bar(i.name, (i.shared.first, i.platform.first, i.overrides.first)) for i in report.instances])}
    if topologies:
        result["topologies"] = stacked_bars(
            "chart-topologies", t("chart_topologies"), [t("platforms"), t("others")],
            [Bar(t(row.topology), (row.platform.first, row.total.first - row.platform.first),
                 f"({row.deployments} {t('platforms').lower()})") for row in topologies])
    if report.overrides:
        result["overrides"] = stacked_bars(
            "chart-overrides", t("chart_overrides"), [t("specific")],
            [Bar(o.id, (o.amount.first,), f"— {t('overdue')}" if o.expired else "") for o in report.overrides])
    return result


@dataclass(frozen=True)
class SheetProfile:
    profile: ProfileCost
    part: Amount  # its part before the floor
    alone: Amount  # what the profile would cost it alone


@dataclass(frozen=True)
class SheetSpecific:
    override: OverrideCost
    part: Amount


def sheet(report: CostReport, instance: str) -> dict[str, Any]:
    """The annex a commune signs with its convention: what it pays and why."""
    cost = report.instance(instance)
    profiles = [SheetProfile(p, p.parts.get(instance, Amount()), p.amount)
                for p in report.profiles if instance in p.instances]
    specifics = [SheetSpecific(o, o.parts[instance]) for o in report.overrides if instance in o.parts]
    alone = sum((p.alone for p in profiles), Amount())
    return {"cost": cost, "profiles": profiles, "specifics": specifics, "alone": alone,
            "mutualisation_saving": alone - cost.shared}
