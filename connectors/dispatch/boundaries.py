"""The communes' boundaries as a local referential: which commune a point lies in.

The polygons come from a GeoJSON file (WGS84 lon/lat) whose features carry the INSEE
code in a property. They are indexed once in a shapely STRtree: a lookup asks the
tree for the few polygons whose bounding box holds the point, then tests only those,
so 700 communes cost about what 46 do (docs/benchmarks/dispatch.md).

Rule on shared borders (deterministic, documented in docs/dispatch.md): a point
inside one polygon and farther than the tolerance (0.5 m) from any other is that
commune's. A point within the tolerance of several polygons (on or next to the line
two communes share, or a corner of three) goes,
with ``on_border = "lowest_insee"``, to the commune with the smallest INSEE code —
the same answer on every machine and run — or, with ``on_border = "triage"``, to
triage. A point strictly inside two polygons (overlapping data) is ambiguous: triage.
A point within the tolerance of only one polygon but outside it (the territory's
outer edge) is that commune's.

The file is read in two steps: :func:`features` checks its structure in plain Python
(what ``raccord check`` runs: no geometry library, shapely and numpy cost 70 ms to
import), then :func:`parse` builds the shapely geometries and the index on the same
features, when the first point is located.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framework import FileRefused, read_bounded

BORDER_RULES = ("lowest_insee", "triage")
DEFAULT_TOLERANCE_M = 0.5
# Degrees are not metres, but at these latitudes a degree is at least ~73 km (longitude
# at 49°N) and ~111 km (latitude): dividing by the larger keeps the tolerance under the
# asked distance in every direction, which is all it has to promise.
METRES_PER_DEGREE = 111_320.0


class BoundariesError(ValueError):
    """The boundaries file cannot be used (message names the file and the fix)."""


@dataclass(frozen=True)
class PointMatch:
    """Where a point fell: ``commune`` when decided, else ``reason`` for triage."""

    commune: str | None
    reason: str | None = None  # "outside_territory" | "border" | "ambiguous"
    candidates: tuple[str, ...] = ()
    on_border: bool = False
    names: dict[str, str] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        found: dict[str, Any] = {"polygon": self.commune}
        if self.commune:
            found["polygon_name"] = self.names.get(self.commune)
        if self.on_border or len(self.candidates) > 1:
            found["candidates"] = list(self.candidates)
            found["on_border"] = self.on_border
        return found


class Boundaries:
    """Polygons by INSEE code, indexed for point lookups (thread-safe, read-only)."""

    def __init__(self, features: list[tuple[str, str, Any]]) -> None:
        import shapely

        self.codes = [code for code, _, _ in features]
        self.names = {code: name for code, name, _ in features}
        self.geoms = [geom for _, _, geom in features]
        self.rings = shapely.boundary(self.geoms)  # for the distance to the border
        shapely.prepare(self.geoms)
        shapely.prepare(self.rings)
        self.tree = shapely.STRtree(self.geoms)

    def __len__(self) -> int:
        return len(self.codes)

    def locate(self, lon: float, lat: float, on_border: str = "lowest_insee",
               tolerance_m: float = DEFAULT_TOLERANCE_M) -> PointMatch:
        import shapely  # loaded by __init__: a dictionary look-up here

        point = shapely.Point(lon, lat)
        tolerance = tolerance_m / METRES_PER_DEGREE
        # Fast path, most points: inside exactly one (prepared) polygon and farther than
        # the tolerance from its boundary, hence from every other polygon.
        inside_one = self.tree.query(point, predicate="intersects")
        if len(inside_one) == 1 and shapely.distance(self.rings[inside_one[0]], point) > tolerance:
            return PointMatch(self.codes[inside_one[0]], names=self.names)
        # Within `tolerance_m` of a polygon counts as touching it: a point computed on a
        # shared edge is never exactly on it in floating point.
        near = self.tree.query(point, predicate="dwithin", distance=tolerance)
        if len(near) == 0:
            return PointMatch(None, "outside_territory", names=self.names)
        inside = sorted(self.codes[i] for i in near if shapely.contains_properly(self.geoms[i], point))
        if len(inside) > 1:
            return PointMatch(None, "ambiguous", tuple(inside), names=self.names)
        if len(near) == 1:  # inside one commune, or on the territory's outer edge
            return PointMatch(self.codes[near[0]], names=self.names)
        border = tuple(sorted(self.codes[i] for i in near))
        if on_border == "lowest_insee":
            return PointMatch(border[0], None, border, on_border=True, names=self.names)
        return PointMatch(None, "border", border, on_border=True, names=self.names)


def features(data: Any, code_property: str, name_property: str, where: str) -> list[tuple[str, str, Any]]:
    """(code, name, GeoJSON geometry) of each feature of a parsed FeatureCollection,
    checked for what the index needs: a code, and a polygon whose rings are lists of at
    least 3 positions of 2 or 3 numbers. Raises BoundariesError naming the feature."""
    found = data.get("features") if isinstance(data, dict) else None
    if not isinstance(found, list) or not found:
        raise BoundariesError(f"{where} is not a GeoJSON FeatureCollection with features")
    parsed = []
    for index, feature in enumerate(found):
        props = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        code = props.get(code_property) if isinstance(props, dict) else None
        if not code:
            raise BoundariesError(f"{where}: feature {index} has no {code_property!r} property — "
                                  f"{hint_text(code_property)}")
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if not isinstance(kind, str):
            raise BoundariesError(f"{where}: feature {index} ({code}) has no usable geometry: no geometry type")
        if kind not in ("Polygon", "MultiPolygon"):
            raise BoundariesError(f"{where}: feature {index} ({code}) is a {kind}, not a polygon")
        coordinates = geometry.get("coordinates")
        polygons = [coordinates] if kind == "Polygon" else coordinates
        if not isinstance(polygons, list) or not all(_polygon(p) for p in polygons):
            raise BoundariesError(f"{where}: feature {index} ({code}) has no usable geometry: a {kind}'s rings "
                                  "are lists of at least 3 [lon, lat] positions")
        parsed.append((str(code), str(props.get(name_property) or code), geometry))
    return parsed


def _polygon(rings: Any) -> bool:
    return isinstance(rings, list) and bool(rings) and all(
        isinstance(ring, list) and len(ring) >= 3 and all(_position(p) for p in ring) for ring in rings)


def _position(position: Any) -> bool:
    return (isinstance(position, list) and 2 <= len(position) <= 3
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in position))


def parse(data: Any, code_property: str, name_property: str, where: str) -> Boundaries:
    """Boundaries from a parsed GeoJSON FeatureCollection."""
    import shapely
    from shapely.geometry import shape

    parsed = []
    for code, name, geometry in features(data, code_property, name_property, where):
        geom = shape(geometry)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        parsed.append((code, name, geom))
    return Boundaries(parsed)


def codes(path: Path, code_property: str = "code", name_property: str = "nom") -> list[str]:
    """The codes of a boundaries file, its structure checked as :func:`load` checks it,
    without building the geometries (``raccord check``)."""
    return [code for code, _, _ in features(_read(path), code_property, name_property, path.name)]


def _read(path: Path) -> Any:
    try:
        path.stat()
    except OSError:
        raise BoundariesError(f"boundaries file {path.name} cannot be read") from None
    try:
        # A FIFO or a device is refused, never waited on or read without end.
        return json.loads(read_bounded(path, MAX_BOUNDARIES_BYTES, f"boundaries file {path.name}"))
    except FileRefused as exc:
        raise BoundariesError(exc.message) from None
    except (OSError, ValueError) as exc:
        raise BoundariesError(f"boundaries file {path.name} is not JSON: {exc}") from None


def hint_text(code_property: str) -> str:
    return f"set boundaries_code_property to the property holding the INSEE code (now {code_property!r})"


MAX_BOUNDARIES_BYTES = 128 * 1024 * 1024  # every commune of France, simplified, is well under
_cache: dict[tuple[str, float, str, str], Boundaries] = {}
_lock = threading.Lock()


def load(path: Path, code_property: str = "code", name_property: str = "nom") -> Boundaries:
    """Boundaries of a GeoJSON file, parsed and indexed once per file version."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise BoundariesError(f"boundaries file {path.name} cannot be read") from None
    key = (str(path), mtime, code_property, name_property)
    with _lock:
        if key not in _cache:
            _cache[key] = parse(_read(path), code_property, name_property, path.name)
        return _cache[key]
