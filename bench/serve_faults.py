"""`raccord serve` under attack and faults: /healthz latency behind the shipped nginx
with 200 slowloris connections (and straight at gunicorn for contrast), and a 30 s
PostgreSQL outage on a private cluster. Writes docs/benchmarks/serve_faults.md.

    .venv/bin/python bench/serve_faults.py [--outage 30] [--slowloris 200]

Needs nginx (Debian's package) and the PostgreSQL server binaries
(/usr/lib/postgresql/*/bin); run as root, the private cluster runs as "postgres".
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import requests  # noqa: E402

from tests.framework.serve.harness import Serve, business, wait_for, write_config  # noqa: E402
from tests.framework.serve.nginx import Nginx  # noqa: E402
from tests.framework.serve.pgcluster import PrivateCluster  # noqa: E402
from tests.framework.serve.test_nginx import Slowloris  # noqa: E402
from tests.framework.serve.traffic import outage as run_outage  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "serve_faults.md"


def latencies(url: str, n: int, timeout: float = 5.0) -> tuple[list[float], int]:
    times, failed = [], 0
    with requests.Session() as s:
        s.trust_env = False
        for _ in range(n):
            started = time.perf_counter()
            try:
                ok = s.get(url + "/healthz", timeout=timeout).status_code == 200
            except requests.RequestException:
                ok = False
            times.append(time.perf_counter() - started)
            failed += not ok
    return times, failed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def slowloris(count: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, business() as shop:
        base = Path(tmp)
        serve = Serve(write_config(base, shop.url), f"sqlite:///{base / 'db.sqlite3'}", role="gateway", workers=2)
        front = Nginx(base, [f"127.0.0.1:{serve.port}"])
        try:
            latencies(front.url, 50)
            for label, url, conns in (("through nginx", front.url, 0), ("through nginx", front.url, count),
                                      ("straight at gunicorn", serve.url, 0),
                                      ("straight at gunicorn", serve.url, count)):
                attack = Slowloris(int(url.rsplit(":", 1)[1]), conns) if conns else None
                time.sleep(1.5 if attack else 0)
                times, failed = latencies(url, 20 if conns and "gunicorn" in label else 200, timeout=2.0)
                if attack:
                    attack.close()
                    time.sleep(2)
                rows.append(f"| {label} | {conns} | {statistics.median(times) * 1000:.2f} | {pct(times, 0.99):.2f} "
                            f"| {failed} / {len(times)} |")
        finally:
            front.stop()
            serve.stop()
    return rows


def outage(seconds: float) -> list[str]:
    cluster = PrivateCluster()
    try:
        with tempfile.TemporaryDirectory() as tmp, business() as shop:
            serve = Serve(write_config(Path(tmp), shop.url), cluster.url)
            try:
                run = run_outage(serve, cluster, seconds)
                traffic, during, recovered = run.traffic, run.during, run.recovered_s
                wait_for(lambda: set(traffic.accepted) <= set(shop.pushes()), 60)
                statuses = Counter(f"{kind} {status}" for kind, status, _, _ in during)
                worst = max(s for _, status, s, _ in during if status == 503)
                dupes = sum(1 for k in traffic.accepted if shop.pushes()[k] > 1)
                seen = ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items()))
                errors = sum(1 for r in traffic.results if r[1] >= 500 and r[1] != 503)
                silent = sum(1 for r in traffic.results if r[1] == 0)
                return [f"| outage | {seconds:.0f} s |",
                        f"| answers during the outage | {seen} |",
                        f"| 500s / no answer, whole run | {errors} / {silent} |",
                        f"| slowest 503 | {worst * 1000:.0f} ms |",
                        f"| `/readyz` 200 again after the restart | {recovered:.1f} s (raccord not restarted) |",
                        f"| pushes accepted (202) / delivered / delivered twice | {len(traffic.accepted)} / "
                        f"{sum(1 for k in traffic.accepted if shop.pushes()[k])} / {dupes} |"]
            finally:
                serve.stop()
    finally:
        cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--slowloris", type=int, default=200)
    args = parser.parse_args()
    lines = ["# `raccord serve` under slow clients and a database outage", "",
             f"Measured {time.strftime('%Y-%m-%d')} by `bench/serve_faults.py` on a shared 2-core machine "
             "(other work running: compare rows of one run, not runs).", "",
             "## `/healthz` with slowloris connections (each sends one header line a second)", "",
             "`raccord serve --role gateway --workers 2 --threads 4`, SQLite; nginx = the shipped "
             "docs/deployment/nginx-raccord.conf. A call that takes over 2 s counts as failed.", "",
             "| path | slowloris connections | p50 ms | p99 ms | failed |", "|---|---|---|---|---|",
             *slowloris(args.slowloris), "",
             "## PostgreSQL stopped while serving (private cluster, `pg_ctl stop -m fast`)", "",
             "`raccord serve` (gateway, workers, scheduler); every 0.1 s a push, a signed call, a job-status "
             "read and a `/readyz` probe.", "", "| | |", "|---|---|", *outage(args.outage), ""]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
