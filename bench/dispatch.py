"""Dispatch: point decisions per second, in process for 46 and 700 polygons, and routes
through the running gateway.

    .venv/bin/python bench/dispatch.py [--points 20000] [--calls 300]

- In process, referential only: ``Boundaries.locate`` on random points inside the
  communes (points outside are cheaper: they are not what is measured), for the
  46 real polygons of Metz Métropole and for 700 synthetic communes (Voronoi cells of
  random seeds over a Moselle-sized box, each densified to about as many vertices as
  a real simplified commune, so the 700 do not cheat by being simpler).
- In process, whole ``route``: decision, storage of the request and its history
  (SQLite), answer with the identity — what the gateway adds latency to.
- Through the gateway: the example territory under gunicorn (2 gthread workers),
  signed POST /metropole/aiguillage/route with a point, sequential keep-alive calls.
Writes docs/benchmarks/dispatch.md. The machine is shared: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import shapely  # noqa: E402

from connectors.dispatch.boundaries import Boundaries, load  # noqa: E402

GEOJSON = ROOT / "data" / "metz_metropole_communes.geojson"
MOSELLE = (5.89, 48.51, 7.64, 49.52)  # lon/lat box of a department (Moselle: ~730 communes)


def synthetic(count: int, vertices: int, seed: int = 57) -> Boundaries:
    """``count`` Voronoi cells over a department-sized box, ~``vertices`` vertices each."""
    rng = random.Random(seed)
    x0, y0, x1, y1 = MOSELLE
    seeds = shapely.MultiPoint([(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(count)])
    box = shapely.box(*MOSELLE)
    cells = [c.intersection(box) for c in shapely.voronoi_polygons(seeds, extend_to=box).geoms]
    features = []
    for index, cell in enumerate(sorted(cells, key=lambda c: (c.centroid.x, c.centroid.y))):
        step = cell.exterior.length / vertices
        features.append((f"{index:05d}", f"cell {index}", shapely.segmentize(cell, step)))
    return Boundaries(features)


def points(boundaries: Boundaries, n: int, seed: int = 1) -> list[tuple[float, float]]:
    """``n`` random points inside the communes (outside ones are cheaper: not measured)."""
    rng = random.Random(seed)
    x0, y0, x1, y1 = shapely.total_bounds(boundaries.geoms)
    union = shapely.union_all(boundaries.geoms)
    shapely.prepare(union)
    found: list[tuple[float, float]] = []
    while len(found) < n:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(union, lon, lat):
            found.append((lon, lat))
    return found


def rate(run: Callable[[], int], rounds: int = 3) -> float:
    """Best of ``rounds``: operations per second."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        done = run()
        best = max(best, done / (time.perf_counter() - start))
    return best


def referential(boundaries: Boundaries, n: int) -> tuple[float, float]:
    pts = points(boundaries, n)

    def run() -> int:
        for lon, lat in pts:
            boundaries.locate(lon, lat)
        return len(pts)

    decided = sum(1 for lon, lat in pts if boundaries.locate(lon, lat).commune) / len(pts)
    return rate(run), decided


def vertex_count(boundaries: Boundaries) -> float:
    return statistics.mean(len(shapely.get_coordinates(g)) for g in boundaries.geoms)


def secrets_env() -> dict[str, str]:
    import tomllib

    config = tomllib.loads((ROOT / "instances.toml").read_text(encoding="utf-8"))

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["env"]] if set(node) == {"env"} else []
            return own + [r for v in node.values() for r in refs(v)]
        return []

    return {name: f"bench-{name.lower()}" for name in refs(config)}


def in_process_route(calls: int, tmp: Path) -> float:
    from framework.app import Raccord

    app = Raccord.open(ROOT / "instances.toml", database_url=f"sqlite:///{tmp / 'inproc.sqlite3'}")
    metz = load(GEOJSON)
    pts = [(p.x, p.y) for p in (g.representative_point() for g in metz.geoms)]
    try:
        def run() -> int:
            for i in range(calls):
                lon, lat = pts[i % len(pts)]
                app.invoke("metropole", "aiguillage", "route", method="POST",
                           body={"category": "voirie", "point": {"lon": lon, "lat": lat}})
            return calls

        return rate(run)
    finally:
        app.close()


def gateway_route(calls: int, tmp: Path) -> tuple[float, float, float]:
    import requests

    from tests.framework.gateway import signer
    from tests.framework.gateway.conftest import Live

    env = secrets_env()
    os.environ.update(env)
    live = Live(ROOT / "instances.toml", f"sqlite:///{tmp / 'gw.sqlite3'}")
    metz = load(GEOJSON)
    pts = [(p.x, p.y) for p in (g.representative_point() for g in metz.geoms)]
    session = requests.Session()
    session.trust_env = False
    latencies = []
    try:
        for i in range(calls):
            lon, lat = pts[i % len(pts)]
            query = signer.sign("orig=demarches.metzmetropole.fr", env["RACCORD_METROPOLE_WCS_SECRET"])
            start = time.perf_counter()
            answer = session.post(f"{live.url}/metropole/aiguillage/route?{query}", timeout=10,
                                  json={"category": "voirie", "point": {"lon": lon, "lat": lat}})
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
    finally:
        session.close()
        live.stop()
        live.log.unlink(missing_ok=True)  # written beside instances.toml, i.e. in the checkout
    ordered = sorted(latencies)
    return len(latencies) / sum(latencies), ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * .95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    metz = load(GEOJSON)
    vertices = vertex_count(metz)
    dept = synthetic(700, int(vertices))
    rows = []
    for label, b in (("Metz Métropole (real)", metz), ("700 synthetic communes", dept)):
        per_s, inside = referential(b, args.points)
        rows.append((label, len(b), vertex_count(b), per_s, inside))
        print(f"{label}: {per_s:,.0f} decisions/s ({inside:.0%} decided)")
    with tempfile.TemporaryDirectory() as tmp:
        inproc = in_process_route(args.calls, Path(tmp))
        print(f"route in process: {inproc:,.0f}/s")
        gw_rate, p50, p95 = gateway_route(args.calls, Path(tmp))
        print(f"route through the gateway: {gw_rate:,.0f}/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    write(rows, inproc, (gw_rate, p50, p95), args)


def write(rows: list[tuple[str, int, float, float, float]], inproc: float, gateway: tuple[float, float, float],
          args: argparse.Namespace) -> None:
    ratio = rows[0][3] / rows[1][3]
    lines = [
        "# Dispatch: point decisions per second",
        "",
        f"`bench/dispatch.py --points {args.points} --calls {args.calls}` on {platform.machine()}, "
        f"Python {platform.python_version()}, shapely {shapely.__version__}, "
        f"{os.cpu_count()} CPUs shared with other developers (load average {os.getloadavg()[0]:.0f} at the "
        "end of the run: absolute figures are low, compare within a run).",
        "",
        "## The boundaries referential alone (`Boundaries.locate`, one thread)",
        "",
        "| polygons | communes | mean vertices per polygon | decisions/s | points decided |",
        "|---|---:|---:|---:|---:|",
        *[f"| {label} | {n} | {v:.0f} | {r:,.0f} | {i:.0%} |" for label, n, v, r, i in rows],
        "",
        f"700 communes cost {ratio:.2f}× what 46 do per decision (the STRtree narrows a point to the "
        "few polygons whose bounding box holds it; only those are tested, prepared).",
        "",
        "## A whole `route` (decision, request and history stored in SQLite, answer with identity)",
        "",
        "| path | routes/s | p50 | p95 |",
        "|---|---:|---:|---:|",
        f"| in process (`Raccord.invoke`) | {inproc:,.0f} | | |",
        f"| through the gateway (gunicorn, 2 workers, signed, sequential keep-alive) | {gateway[0]:,.0f} "
        f"| {gateway[1]:.1f} ms | {gateway[2]:.1f} ms |",
        "",
        "The referential is not the cost of a route: storage (one request row, one history row, in "
        "one transaction) and the gateway (signature, nonce, journal) are.",
        "",
    ]
    out = ROOT / "docs" / "benchmarks" / "dispatch.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
