"""Properties of the split over random territories (Hypothesis)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from framework.costs.money import days_cost, largest_remainder
from framework.costs.split import split_shared

names = st.sampled_from([f"i{n}" for n in range(12)])


@st.composite
def territories(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, dict[str, Fraction]], int]:
    """Profiles with costs in cents, the instances binding each with a weight, a floor."""
    profiles = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    costs = {p: draw(st.integers(0, 5_000_000)) for p in profiles}
    bound = {p: {n: Fraction(draw(st.integers(0, 200_000)))
                 for n in draw(st.lists(names, min_size=1, max_size=8, unique=True))} for p in profiles}
    floor = draw(st.integers(0, 200_000))
    return costs, bound, floor


@settings(max_examples=300, deadline=None)
@given(territories())
def test_split_adds_up_to_the_cent_and_the_floor_holds(t: tuple[dict[str, int],
                                                                dict[str, dict[str, Fraction]], int]) -> None:
    costs, bound, floor = t
    shares, per_profile = split_shared(costs, bound, floor)
    total = sum(costs.values())
    payers = set().union(*(b.keys() for b in bound.values()))
    assert set(shares) == payers
    assert sum(shares.values()) == total
    assert all(v >= 0 for v in shares.values())
    if floor * len(payers) < total:
        assert min(shares.values()) >= floor
    else:  # everyone pays the same, to the cent
        assert max(shares.values()) - min(shares.values()) <= 1
    for profile, parts in per_profile.items():
        assert sum(parts.values()) == costs[profile]


@given(st.lists(st.fractions(min_value=0, max_value=10_000), min_size=1, max_size=20))
def test_largest_remainder_is_within_a_cent(values: list[Fraction]) -> None:
    raw = {f"p{i}": v for i, v in enumerate(values)}
    whole = sum(raw.values())
    # scale so that the exact shares add up to an integer total
    total = int(whole) + 1
    shares = {k: v * total / whole if whole else Fraction(total, len(raw)) for k, v in raw.items()}
    rounded = largest_remainder(shares, total)
    assert sum(rounded.values()) == total
    assert all(abs(rounded[k] - shares[k]) < 1 for k in shares)


def test_days_cost_rounds_half_up_once() -> None:
    assert days_cost(0.1, 800) == 8_000
    assert days_cost(0.333, 1) == 33  # 33.3 cents
    assert days_cost(0.005, 1) == 1  # 0.5 cent → 1
