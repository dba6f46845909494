"""Splitting the shared costs: per profile by weight, then a floor per instance.

1. Each profile's cost is split among the instances that bind it, in proportion to
   their weight (1 for ``equal``, the population, or ``weight``); a profile whose
   instances all weigh 0 is split equally.
2. An instance's shared share is the sum of its parts over its profiles.
3. The floor: every instance that binds a profile pays at least ``floor`` cents of
   shared costs per year. Instances below it pay the floor; what remains is split
   among the others in proportion to their step-2 share, repeatedly, until no one is
   below the floor. If ``floor × instances`` is at least the total, everyone pays an
   equal part.
4. Exact fractions until the end, then largest-remainder rounding to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from framework.costs.money import largest_remainder, proportional


def split_profile(total: int, weights: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Step 1 for one profile: exact parts of ``total`` cents."""
    return proportional(total, weights)


def apply_floor(raw: Mapping[str, Fraction], total: int, floor: int) -> dict[str, Fraction]:
    """Step 3: exact shares, each at least ``floor`` when the total allows it."""
    names = list(raw)
    if not names:
        return {}
    if floor * len(names) >= total:
        return {n: Fraction(total, len(names)) for n in names}
    fixed: set[str] = set()
    while True:
        free = [n for n in names if n not in fixed]
        remaining = total - floor * len(fixed)
        shares = proportional(remaining, {n: raw[n] for n in free})
        below = {n for n in free if shares[n] < floor}
        if not below:  # always reached: the free instances cannot all fall below it
            return {**{n: Fraction(floor) for n in fixed}, **shares}
        fixed |= below


def split_shared(profile_costs: Mapping[str, int], bound: Mapping[str, Mapping[str, Fraction]],
                 floor: int) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Steps 1–4 for one period (first year, or recurring).

    :param profile_costs: profile → its cost in cents for the period.
    :param bound: profile → {instance → weight} of the instances binding it.
    :return: instance → its shared share in cents (floor applied, adds up to the total);
        and profile → instance → its part before the floor (each adds up to the profile).
    """
    raw: dict[str, Fraction] = {}
    per_profile: dict[str, dict[str, int]] = {}
    for profile, cost in profile_costs.items():
        parts = split_profile(cost, bound.get(profile, {}))
        per_profile[profile] = largest_remainder(parts, cost) if parts else {}
        for name, part in parts.items():
            raw[name] = raw.get(name, Fraction(0)) + part
    total = sum(cost for p, cost in profile_costs.items() if bound.get(p))
    return largest_remainder(apply_floor(raw, total, floor), total), per_profile
