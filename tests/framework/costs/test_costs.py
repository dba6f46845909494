"""The cost model on a territory small enough to check by hand (see territory.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from framework.costs.compute import Amount, compute
from framework.costs.scenarios import compare_topologies, deployments, harmonise, report_for
from tests.framework.costs.territory import load

TODAY = dt.date(2026, 1, 1)


def shares(report, period: str = "first") -> dict[str, int]:
    return {i.name: i.shared.get(period) for i in report.instances}


def test_population_split_with_floor_by_hand(tmp_path: Path) -> None:
    report = compute(load(tmp_path), today=TODAY)
    # First year, before the floor:
    #   adresse 5 000 € by population 6000:3000:1000:0 → metro 3 000, ville 1 500, hameau 500, village 0
    #   paiement 2 500 € by 6000:3000                  → metro 1 666.67, ville 833.33
    #   raw: metro 4 666.67, ville 2 333.33, hameau 500, village 0 (total 7 500)
    # Floor 500: village (0) pays 500; 7 000 left over metro:ville:hameau = 4666.67:2333.33:500
    #   → hameau 466.67 < 500, so hameau pays 500 too; 6 500 left over metro:ville = 2:1
    #   → metro 4 333.333…, ville 2 166.666…; 433 333.33 + 216 666.67 cents: one cent left,
    #   largest remainder (.67) → ville. Parts: 433 333 + 216 667 + 50 000 + 50 000 = 750 000.
    assert shares(report) == {"metro": 433_333, "ville": 216_667, "hameau": 50_000, "village": 50_000}
    # Recurring: adresse 2 000 → 1 200, 600, 200, 0; paiement 500 → 333.33, 166.67
    #   raw: 1 533.33, 766.67, 200, 0 (total 2 500); hameau and village below 500 → 500 each;
    #   1 500 left over metro:ville = 2:1 → 1 000, 500 (ville at the floor exactly, not below).
    assert shares(report, "recurring") == {"metro": 100_000, "ville": 50_000, "hameau": 50_000,
                                           "village": 50_000}


def test_specific_costs_land_only_on_their_owner(tmp_path: Path) -> None:
    report = compute(load(tmp_path), today=TODAY)
    specific = {i.name: i.specific for i in report.instances}
    # platform 2+1 days: 3 000 € first year, 1 000 € recurring, for metro and ville (own deployments);
    # ville's override 1+0.5 days: 1 500 € / 500 €; hameau and village are hosted: nothing specific.
    assert specific == {"metro": Amount(300_000, 100_000), "ville": Amount(450_000, 150_000),
                        "hameau": Amount(), "village": Amount()}
    assert report.instance("ville").overrides == Amount(150_000, 50_000)
    # totals: metro 4 333.33 + 3 000 = 7 333.33; ville 2 166.67 + 4 500 = 6 666.67; 500; 500
    assert {i.name: i.total.first for i in report.instances} == {
        "metro": 733_333, "ville": 666_667, "hameau": 50_000, "village": 50_000}
    # territory: shared 7 500 + 2 platforms 6 000 + override 1 500 = 15 000; recurring 2 500 + 2 000 + 500
    assert report.total == Amount(1_500_000, 500_000)


def test_each_profile_split_adds_up(tmp_path: Path) -> None:
    report = compute(load(tmp_path), today=TODAY)
    adresse = next(p for p in report.profiles if p.name == "adresse")
    assert adresse.instances == ("metro", "ville", "hameau", "village")
    assert adresse.parts["metro"] == Amount(300_000, 120_000)
    assert sum(a.first for a in adresse.parts.values()) == adresse.amount.first == 500_000
    paiement = next(p for p in report.profiles if p.name == "paiement")
    # 2 500 € over 6000:3000 = 1 666.666… / 833.333… → 166 667 + 83 333 cents
    assert {n: a.first for n, a in paiement.parts.items()} == {"metro": 166_667, "ville": 83_333}
    assert paiement.per_instance() == Amount(125_000, 25_000)


def test_equal_split(tmp_path: Path) -> None:
    report = compute(load(tmp_path, split="equal"), today=TODAY)
    # adresse 5 000 / 4 = 1 250 each; paiement 2 500 / 2 = 1 250 for metro and ville; floor not binding
    assert shares(report) == {"metro": 250_000, "ville": 250_000, "hameau": 125_000, "village": 125_000}


def test_weights_split(tmp_path: Path) -> None:
    report = compute(load(tmp_path, split="weights"), today=TODAY)
    # weights 3:1:1:0. adresse 5 000 → 3 000, 1 000, 1 000, 0; paiement 2 500 over 3:1 → 1 875, 625
    # raw 4 875, 1 625, 1 000, 0 (7 500); village → 500; 7 000 over 4875:1625:1000
    #   → 4 550, 1 516.666…, 933.333…; cents 455 000 + 151 666.67 + 93 333.33: one cent left → ville
    assert shares(report) == {"metro": 455_000, "ville": 151_667, "hameau": 93_333, "village": 50_000}


def test_floor_above_the_total_splits_equally(tmp_path: Path) -> None:
    report = compute(load(tmp_path, floor=2000), today=TODAY)
    # 4 × 2 000 = 8 000 ≥ 7 500: everyone pays 7 500 / 4 = 1 875 of the first year
    assert set(shares(report).values()) == {187_500}
    # recurring 2 500 / 4 = 625
    assert set(shares(report, "recurring").values()) == {62_500}


def test_what_if_harmonise(tmp_path: Path) -> None:
    territory = load(tmp_path)
    after, h = harmonise(territory, "ville", today=TODAY)
    assert h.overrides == ("ville/paiement",)
    # ville pays 6 666.67 / 2 000 as configured; without its override 1 500 / 500 less
    assert h.before == Amount(666_667, 200_000)
    assert h.after == Amount(516_667, 150_000)
    assert h.saving == Amount(150_000, 50_000)
    assert (h.territory_before, h.territory_after) == (Amount(1_500_000, 500_000), Amount(1_350_000, 450_000))
    # the others' shares do not move: ville still binds both profiles
    assert after.instance("metro").total == Amount(733_333, 200_000)
    # harmonising an instance without overrides saves nothing
    assert harmonise(territory, "hameau", today=TODAY)[1].saving == Amount()


def test_topologies_by_hand(tmp_path: Path) -> None:
    territory = load(tmp_path)
    assert deployments(territory, "hybrid") == {"metro", "ville"}
    assert deployments(territory, "single") == {"metro"}
    assert deployments(territory, "per-commune") == {"metro", "ville", "hameau", "village"}
    rows = {r.topology: r for r in compare_topologies(territory, today=TODAY)}
    # shared 7 500 / 2 500 and the override 1 500 / 500 in every model; platforms 3 000 / 1 000 each
    assert rows["single"].total == Amount(1_200_000, 400_000)       # 7 500 + 3 000 + 1 500
    assert rows["hybrid"].total == Amount(1_500_000, 500_000)       # 7 500 + 6 000 + 1 500
    assert rows["per-commune"].total == Amount(2_100_000, 700_000)  # 7 500 + 12 000 + 1 500
    assert rows["per-commune"].deployments == 4
    single = report_for(territory, "single", today=TODAY)
    # in the single model ville no longer pays a platform: 2 166.67 + 1 500
    assert single.instance("ville").total.first == 366_667
    assert single.instance("metro").platform == Amount(300_000, 100_000)


def test_per_commune_drops_the_multicommunal_instance(tmp_path: Path) -> None:
    text = load.__globals__["TOML"].format(split="equal", floor=0) + """
[instances.mutual]
kind = "multicommunal"
hosted_by = "metro"
profiles = ["adresse"]
"""
    territory = load(tmp_path, text)
    assert "mutual" not in deployments(territory, "per-commune")
    assert "mutual" not in deployments(territory, "hybrid")


def test_review_overdue_is_flagged(tmp_path: Path) -> None:
    territory = load(tmp_path)
    assert compute(territory, today=dt.date(2026, 7, 1)).overrides[0].expired
    assert not compute(territory, today=dt.date(2026, 6, 30)).overrides[0].expired


def test_first_year_days_are_added_exactly_before_rounding() -> None:
    # 0.05 + 2.3 days is 2.3499999999999996 in binary floating point: 2.35 × 612.50 € is
    # 1 439.375 €, which rounds half up to 143 938 cents (the float sum gave 143 937).
    from framework.config.model import Cost
    from framework.costs.compute import cost_amount

    assert cost_amount(Cost(0.05, 2.3), 612.5) == Amount(143_938, 140_875)
