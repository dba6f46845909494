"""Money in integer euro cents, and rounding whose parts add up to the total."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def days_cost(days: float | Decimal, day_rate_eur: float) -> int:
    """``days × rate`` in cents, rounded half up once (``str`` keeps 0.1 exact)."""
    cents = Decimal(str(days)) * Decimal(str(day_rate_eur)) * 100
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def eur_to_cents(eur: float) -> int:
    return days_cost(1, eur)


def largest_remainder(shares: Mapping[str, Fraction], total: int) -> dict[str, int]:
    """Round exact ``shares`` (which sum to ``total`` cents) to integer cents.

    Each part gets its share rounded down; the cents left over go one each to the
    parts with the largest fractional remainders (ties: by name, so the result is
    stable). The parts add up to ``total`` exactly.
    """
    floors = {name: share.numerator // share.denominator for name, share in shares.items()}
    left = total - sum(floors.values())
    order = sorted(shares, key=lambda n: (-(shares[n] - floors[n]), n))
    if not 0 <= left <= len(order):
        raise ValueError(f"shares sum to {sum(shares.values())}, not {total}")
    for name in order[:left]:
        floors[name] += 1
    return floors


def proportional(total: int, weights: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """``total`` split in proportion to ``weights``; equally when they are all zero."""
    names: Sequence[str] = list(weights)
    if not names:
        return {}
    whole = sum(weights.values(), Fraction(0))
    if whole == 0:
        return {n: Fraction(total, len(names)) for n in names}
    return {n: total * weights[n] / whole for n in names}


def fmt_eur(cents: int) -> str:
    """1234567 → "12 345,67 €" (French grouping, as the steering committee reads it)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{rest:02d} €"
