"""From BAN GeoJSON features to w.c.s. data-source items, and INSEE scoping.

The BAN (api-adresse.data.gouv.fr) answers a GeoJSON ``FeatureCollection``; each
feature's ``properties`` carry ``label``, ``type``, ``citycode``… Not every feature
has every property: a ``municipality`` has no ``street``, older answers have no
``x``/``y``/``importance``, some have no ``postcode`` or even no ``citycode``. Items
therefore always carry the same keys, ``None`` when the BAN did not say, so w.c.s.
templates can rely on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Properties copied from the BAN into every item (``None`` when absent).
PROPERTIES = ("label", "name", "housenumber", "street", "postcode", "citycode", "city",
              "district", "context", "type", "score", "importance", "x", "y", "distance",
              "oldcitycode", "oldcity")

# Paris, Lyon and Marseille: the BAN gives an address the arrondissement's INSEE code
# (75110 for Paris 10e), while an instance is scoped by the commune's code (75056).
_ARRONDISSEMENTS: dict[str, tuple[str, range]] = {
    "75056": ("751", range(1, 21)),   # Paris 75101–75120
    "69123": ("6938", range(1, 10)),  # Lyon 69381–69389
    "13055": ("132", range(1, 17)),   # Marseille 13201–13216
}
_COMMUNE_OF: dict[str, str] = {
    f"{prefix}{n:0{5 - len(prefix)}d}": commune
    for commune, (prefix, numbers) in _ARRONDISSEMENTS.items()
    for n in numbers
}


def commune_code(citycode: str) -> str:
    """The commune's INSEE code for an arrondissement code; other codes unchanged."""
    return _COMMUNE_OF.get(citycode, citycode)


def arrondissements(code: str) -> list[str]:
    """The arrondissement codes of a commune that has them, else ``[code]``."""
    if code not in _ARRONDISSEMENTS:
        return [code]
    prefix, numbers = _ARRONDISSEMENTS[code]
    return [f"{prefix}{n:0{5 - len(prefix)}d}" for n in numbers]


def in_scope(citycode: str | None, scope: frozenset[str]) -> bool:
    """Whether an answer with ``citycode`` belongs to an instance scoped to ``scope``.

    An empty scope accepts everything. A scope of 75056 (Paris) accepts 75110 (Paris
    10e); a scope of 75110 accepts only 75110. A result without ``citycode`` cannot
    be shown to belong to a scoped instance, so it is refused there.
    """
    if not scope:
        return True
    if not citycode:
        return False
    return citycode in scope or commune_code(citycode) in scope


def to_item(feature: Mapping[str, Any], format_label: Callable[[Mapping[str, Any]], str]) -> dict[str, Any]:
    """One data-source item ``{id, text, display_name, lat, lon, address, …BAN properties}``."""
    props: Mapping[str, Any] = feature.get("properties") or {}
    lon, lat = _coordinates(feature)
    item: dict[str, Any] = {key: props.get(key) for key in PROPERTIES}
    citycode = props.get("citycode")
    item["commune_code"] = commune_code(citycode) if citycode else None
    item["lat"], item["lon"] = lat, lon
    item["text"] = format_label(props)
    item["id"] = _identifier(props, lat, lon)
    return with_address(item)


def with_address(item: dict[str, Any]) -> dict[str, Any]:
    """Add Nominatim's ``display_name`` and ``address`` to an item, from its own keys.

    w.c.s. fills an address field from a chosen item: its script takes ``item.address``
    when it is an object and reads ``road``, ``house_number``, ``postcode``, ``city``
    (Nominatim's names); its geocoding reads ``lat``, ``lon`` and ``display_name``.
    Idempotent: items stored before these keys existed get them when read back."""
    if isinstance(item.get("address"), Mapping) and "display_name" in item:
        return item
    kind = item.get("type")
    # A street's or a lieu-dit's own name is its road; a municipality has none.
    road = item.get("street") or (item.get("name") if kind in ("street", "locality") else None)
    item["display_name"] = item.get("text") or item.get("label")
    item["address"] = {
        "road": road,
        "house_number": item.get("housenumber"),
        "postcode": item.get("postcode"),
        "city": item.get("city"),
        "citycode": item.get("citycode"),
        "suburb": item.get("district"),
        "country": "France",
        "country_code": "fr",
    }
    return item


def to_items(features: Iterable[Mapping[str, Any]], scope: frozenset[str],
             format_label: Callable[[Mapping[str, Any]], str]) -> list[dict[str, Any]]:
    """Items for the features inside ``scope``, in the BAN's order (best score first)."""
    return [to_item(f, format_label) for f in features if _feature_in_scope(f, scope)]


def _feature_in_scope(feature: Mapping[str, Any], scope: frozenset[str]) -> bool:
    # A merged commune's address carries the new commune's citycode and the delegated
    # commune's oldcitycode: an instance still scoped by the old code keeps it.
    props: Mapping[str, Any] = feature.get("properties") or {}
    return in_scope(props.get("citycode"), scope) or (
        bool(props.get("oldcitycode")) and in_scope(props.get("oldcitycode"), scope))


def default_label(props: Mapping[str, Any]) -> str:
    """The BAN's own label, or one rebuilt from its parts when it has none."""
    label = props.get("label")
    if label:
        return str(label)
    parts = [props.get("name"), props.get("postcode"), props.get("city")]
    return " ".join(str(p) for p in parts if p)


def _coordinates(feature: Mapping[str, Any]) -> tuple[float | None, float | None]:
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if isinstance(coords, list | tuple) and len(coords) >= 2:
        try:
            return float(coords[0]), float(coords[1])
        except (TypeError, ValueError):
            pass
    return None, None


def _identifier(props: Mapping[str, Any], lat: float | None, lon: float | None) -> str:
    # The BAN id is stable across calls (an interop key like "57463_1520_00013");
    # without one, coordinates and label identify the answer well enough to round-trip.
    if props.get("id"):
        return str(props["id"])
    # No comma: a list parameter given as one value is split on commas (id=a,b).
    return f"{lat}~{lon}~{props.get('label') or ''}".replace(",", " ")


def errors_in(payload: Any) -> str | None:
    """Why ``payload`` is not a BAN FeatureCollection, or None when it is one."""
    if not isinstance(payload, Mapping):
        return f"a JSON {type(payload).__name__}, not a FeatureCollection"
    features = payload.get("features")
    if not isinstance(features, list):
        return "JSON without a 'features' list"
    if not all(isinstance(f, Mapping) for f in features):
        return "features that are not JSON objects"
    return None
