"""The boundaries referential on the real polygons of Metz Métropole's 46 communes
(data/metz_metropole_communes.geojson, attribution in data/README.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import shapely

from connectors.dispatch.boundaries import Boundaries, BoundariesError, codes, load, parse
from tests.conftest import ROOT

GEOJSON = ROOT / "data" / "metz_metropole_communes.geojson"
COMMUNES = [line.split(",")[0] for line in (ROOT / "data" / "metz_metropole_communes.csv")
            .read_text(encoding="utf-8").splitlines()[1:] if line]


@pytest.fixture(scope="module")
def metz() -> Boundaries:
    return load(GEOJSON)


def test_the_referential_has_the_46_communes_of_metz_metropole(metz: Boundaries) -> None:
    assert len(COMMUNES) == 46
    assert sorted(metz.codes) == sorted(COMMUNES)


@pytest.mark.parametrize("code", COMMUNES)
def test_a_representative_point_of_each_commune_routes_to_it(metz: Boundaries, code: str) -> None:
    point = metz.geoms[metz.codes.index(code)].representative_point()
    found = metz.locate(point.x, point.y)
    assert (found.commune, found.reason, found.on_border) == (code, None, False)


def test_a_point_outside_the_territory_goes_to_triage(metz: Boundaries) -> None:
    for lon, lat in [(2.3469, 48.8589), (6.40, 49.10), (6.1757, 49.35)]:  # Paris, east of Mey, north
        found = metz.locate(lon, lat)
        assert (found.commune, found.reason) == (None, "outside_territory")


def _shared_vertices(metz: Boundaries) -> dict[tuple[float, float], set[str]]:
    owners: dict[tuple[float, float], set[str]] = {}
    for code, geom in zip(metz.codes, metz.geoms, strict=True):
        for polygon in getattr(geom, "geoms", [geom]):
            for xy in polygon.exterior.coords:
                owners.setdefault(xy, set()).add(code)
    return owners


def test_a_point_on_the_border_of_metz_and_woippy_goes_to_the_lowest_insee_code(metz: Boundaries) -> None:
    # A vertex both polygons share (the data is topologically clean: no overlap).
    vertex = next(xy for xy, owners in _shared_vertices(metz).items() if owners == {"57463", "57751"})
    found = metz.locate(*vertex)
    assert (found.commune, found.on_border, found.candidates) == ("57463", True, ("57463", "57751"))
    # The same on every call, and the other rule sends it to triage instead.
    assert metz.locate(*vertex) == found
    strict = metz.locate(*vertex, on_border="triage")
    assert (strict.commune, strict.reason, strict.candidates) == (None, "border", ("57463", "57751"))


def test_a_point_on_the_middle_of_a_shared_edge_is_on_the_border(metz: Boundaries) -> None:
    a, b = (metz.geoms[metz.codes.index(c)] for c in ("57463", "57480"))  # Metz, Montigny-lès-Metz
    edge = a.boundary.intersection(b.boundary)
    assert edge.length > 0
    merged = shapely.line_merge(edge)
    line = merged if merged.geom_type == "LineString" else merged.geoms[0]
    middle = line.interpolate(0.5, normalized=True)
    found = metz.locate(middle.x, middle.y)
    assert (found.commune, found.on_border, found.candidates) == ("57463", True, ("57463", "57480"))
    # Ten metres into Montigny, the point is Montigny's: the border is 0.5 m wide.
    inward = shapely.Point(middle.x, middle.y).buffer(10 / 111_320).intersection(b).representative_point()
    assert a.distance(inward) * 111_320 > 1
    assert metz.locate(inward.x, inward.y).commune == "57480"


def test_the_shared_borders_of_the_data_are_many_and_never_overlap(metz: Boundaries) -> None:
    shared = Counter(len(o) for o in _shared_vertices(metz).values())
    assert shared[2] > 100
    for i, geom in enumerate(metz.geoms):
        for j in metz.tree.query(geom, predicate="overlaps"):
            pytest.fail(f"{metz.codes[i]} overlaps {metz.codes[j]}")


def test_overlapping_polygons_are_ambiguous_and_go_to_triage() -> None:
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": c, "nom": c},
         "geometry": {"type": "Polygon", "coordinates": [[[x, 0], [x + 2, 0], [x + 2, 2], [x, 2], [x, 0]]]}}
        for c, x in (("00001", 0), ("00002", 1))]}
    found = parse(data, "code", "nom", "test").locate(1.5, 1)
    assert (found.commune, found.reason, found.candidates) == (None, "ambiguous", ("00001", "00002"))


def test_a_department_sized_grid_of_700_communes_decides_each_cell() -> None:
    cells = [(f"{i:05d}", shapely.box(5 + (i % 28) * 0.05, 48 + (i // 28) * 0.05,
                                      5 + (i % 28 + 1) * 0.05, 48 + (i // 28 + 1) * 0.05)) for i in range(700)]
    grid = Boundaries([(code, code, geom) for code, geom in cells])
    for code, geom in cells[::37]:
        centre = geom.centroid
        assert grid.locate(centre.x, centre.y).commune == code
    corner = grid.locate(5.05, 48.05)  # four cells meet: the lowest code wins
    assert corner.candidates == ("00000", "00001", "00028", "00029") and corner.commune == "00000"


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "is not JSON"),
    ('{"type": "FeatureCollection", "features": []}', "with features"),
    ('{"features": [{"properties": {}, "geometry": null}]}', "has no 'code' property"),
    ('{"features": [{"properties": {"code": "57463"}, "geometry": {"type": "Point", "coordinates": [6, 49]}}]}',
     "not a polygon"),
    ('{"features": [{"properties": {"code": "57463"}, "geometry": {"type": "Polygon", '
     '"coordinates": [[[6, 49], [7]]]}}]}', "has no usable geometry"),
])
def test_an_unusable_file_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BoundariesError, match=message):
        load(path)
    with pytest.raises(BoundariesError, match=message):
        codes(path)  # what `raccord check` reads: the same structure, without shapely


def test_a_missing_file_names_it_without_its_directory(tmp_path: Path) -> None:
    with pytest.raises(BoundariesError) as info:
        load(tmp_path / "absent.geojson")
    assert "absent.geojson" in str(info.value) and str(tmp_path) not in str(info.value)
