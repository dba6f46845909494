"""Deciding the commune of a request from where it is.

The first location the request gives, in this order, decides or sends it to triage:
``insee`` (a commune code), ``point`` (lon/lat, through the boundaries), ``address``
(through the instance's base_adresse binding). ``origin`` — the commune whose site
the citizen came from — is used only when none of those is given: it says where the
citizen clicked, not where the problem is, so it never overrules a precise location
that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.dispatch.boundaries import Boundaries
from framework import RaccordError

#: Why a request needs triage (statistics group by these).
REASONS = ("unknown_category", "no_location", "no_match", "low_score", "outside_territory", "border",
           "ambiguous", "geocoder_down", "no_responsible", "reassigned")

Geocode = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Located:
    """The commune (``insee``) and how it was found, or why it was not (``reason``)."""

    method: str | None
    insee: str | None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def geocoder_down(self) -> bool:
        return self.reason == "geocoder_down"


def locate(location: Mapping[str, Any], communes: Mapping[str, Any], *, boundaries: Boundaries | None,
           on_border: tuple[str, float], geocode: Geocode | None, min_score: float,
           origin_of: Callable[[str], str | None]) -> Located:
    if location.get("insee"):
        return by_insee(str(location["insee"]), communes)
    if location.get("point"):
        return by_point(location["point"], communes, boundaries, on_border)
    if location.get("address"):
        return by_address(str(location["address"]), communes, geocode, min_score)
    if location.get("origin"):
        origin = str(location["origin"])
        code = origin_of(origin)
        if code is not None and code in communes:
            return Located("origin", code, {"origin": origin})
        return Located("origin", None, {"origin": origin}, "outside_territory")
    return Located(None, None, {}, "no_location")


def by_insee(code: str, communes: Mapping[str, Any]) -> Located:
    if code in communes:
        return Located("insee", code, {"insee": code})
    return Located("insee", None, {"insee": code}, "outside_territory")


def by_point(point: Mapping[str, Any], communes: Mapping[str, Any], boundaries: Boundaries | None,
             on_border: tuple[str, float]) -> Located:
    """``on_border``: the rule and the tolerance in metres (see boundaries)."""
    lon, lat = float(point["lon"]), float(point["lat"])
    evidence: dict[str, Any] = {"point": {"lon": lon, "lat": lat}}
    if boundaries is None:
        return Located("point", None, evidence, "no_match")
    match = boundaries.locate(lon, lat, *on_border)
    evidence.update(match.evidence())
    if match.commune is None:
        return Located("point", None, evidence, match.reason)
    if match.commune not in communes:  # a polygon of a commune the territory does not have
        return Located("point", None, evidence, "outside_territory")
    return Located("point", match.commune, evidence)


def by_address(address: str, communes: Mapping[str, Any], geocode: Geocode | None, min_score: float) -> Located:
    evidence: dict[str, Any] = {"address": address}
    if geocode is None:
        return Located("address", None, evidence, "no_match")
    try:
        items = geocode(address)
    except RaccordError as exc:
        if exc.status < 500:
            evidence["error"] = str(exc)
            return Located("address", None, evidence, "no_match")
        evidence["error"] = f"geocoder unavailable ({exc.err_class})"
        return Located("address", None, evidence, "geocoder_down")
    if not items:
        return Located("address", None, evidence, "no_match")
    best = items[0]
    evidence.update({"label": best.get("text") or best.get("label"), "score": best.get("score"),
                     "citycode": best.get("citycode"), "oldcitycode": best.get("oldcitycode"),
                     "min_score": min_score})
    score = best.get("score")
    if not isinstance(score, int | float) or score < min_score:
        return Located("address", None, evidence, "low_score")
    # The BAN gives an arrondissement its own code (75110: Paris 10e), mapped to the
    # commune (commune_code); a merged commune's old code comes as oldcitycode: the
    # territory may still know the delegated commune by it.
    for code in (best.get("commune_code"), best.get("citycode"), best.get("oldcitycode")):
        if code and code in communes:
            return Located("address", str(code), evidence)
    return Located("address", None, evidence, "outside_territory")
