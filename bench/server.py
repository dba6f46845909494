"""What the HTTP server side costs: raccord's gunicorn worker against gunicorn's own,
before and after a change, in one interleaved run.

    .venv/bin/python bench/server.py [--before REV] [--layouts 2x4,4x2] [--signed] [--rounds 3] [--out FILE]

Servers, all on 127.0.0.1, each in its own process group:
- upstream: nginx (one worker) answering a 306-byte JSON (as in bench/gateway.py);
- hello: bench/anchors/hello.py (a WSGI app doing nothing) under gunicorn 2 × 4, once with
  gunicorn's ``gthread`` worker, once with raccord's (``JsonErrorWorker``): the server's
  own cost per call, with no application work;
- raccord: ``raccord serve --role gateway`` on bench/gateway_connector.py's open endpoint
  (one ``self.http.get_json`` of the upstream), in each ``--layouts`` (workers × threads),
  and with ``--signed`` its signed endpoint too (bench/gateway.py's signed URLs);
- with ``--before REV``: the hello app under raccord's worker and raccord 2 × 4 again, from
  ``git archive REV`` (put first on PYTHONPATH), so that before and after are measured in
  the same run on the same loaded machine.

Each round: sequential keep-alive latency with http.client (bench/gateway.py's client, the
paths taking turns by blocks of 50 calls), then ``wrk -t2 -c20`` in 1 s slices, the paths
taking turns, counting requests and the CPU time the server's processes used (utime +
stime of its process group, from /proc). CPU per request is the steadier figure on a
shared machine: req/s falls when other work takes the cores, CPU per request much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench importable when run as a script

from bench.gateway import (
    ANCHORS,
    NGINX,
    ROOT,
    SECRET,
    WRK,
    Target,
    free_port,
    get,
    nginx_conf,
    pct,
    raccord_config,
    sequential,
    server,
    write,
    wrk,
)

TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, … utime (12th), stime (13th)
            total += int(fields[11]) + int(fields[12])
    return total / TICK


@dataclass
class Served:
    target: Target
    pgid: int


def hello(port: int, worker: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-k", worker, "-w", "2", "--threads", "4", "--keep-alive", "5",
            "--no-control-socket", "-b", f"127.0.0.1:{port}", "--chdir", str(ANCHORS), "hello:app"]


def raccord(config: Path, port: int, layout: str) -> list[str]:
    workers, threads = layout.split("x")
    return [str(Path(sys.executable).with_name("raccord")), "--config", str(config), "serve", "--role", "gateway",
            "--port", str(port), "--workers", workers, "--threads", threads]


def answering(t: Target) -> Callable[[], bool]:
    return lambda: get(t.port, t.path)[0] == 200


def checkout(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--before", metavar="REV", help="also measure this revision (git archive) side by side")
    ap.add_argument("--layouts", default="2x4", help="raccord's workers×threads to measure (default 2x4)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=1000, help="sequential calls per path per round")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=3, help="wrk seconds per path per round (1 s slices)")
    ap.add_argument("--signed", action="store_true", help="also each raccord's signed endpoint")
    ap.add_argument("--out", type=Path, help="write the tables there, keeping its hand-written ## Notes")
    args = ap.parse_args()
    for tool in (NGINX, WRK):
        if not os.path.exists(tool):
            raise SystemExit(f"{tool} is needed (apt-get install nginx wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="raccord-bench-server-"))
    up, nginx_proxy = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up}/json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_WCS_SECRET": SECRET,
           "RACCORD_PLUGINS": "bench.gateway_connector"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    before_env = None
    if args.before:
        tree = checkout(args.before, tmp / "before")
        before_env = {**env, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    direct = Target("direct", "upstream direct (nginx)", up, "/json")
    plan: list[tuple[Target, list[str], dict[str, str]]] = [
        (Target("hello-gthread", "hello app, gunicorn gthread 2×4", free_port(), "/"), [], env),
    ]
    if before_env:
        plan.append((Target("hello-before", f"hello app, raccord's worker 2×4 ({args.before})", free_port(), "/"),
                     [], before_env))
    plan.append((Target("hello-now", "hello app, raccord's worker 2×4 (this tree)", free_port(), "/"), [], env))
    if before_env:
        plan.append((Target("raccord-before", f"raccord open 2×4 ({args.before})", free_port(),
                            "/bench/echo/echo"), [], before_env))
    for layout in args.layouts.split(","):
        plan.append((Target(f"raccord-{layout}", f"raccord open {layout.replace('x', '×')} (this tree)",
                            free_port(), "/bench/echo/echo"), [], env))
    try:
        with ExitStack() as stack:
            conf = nginx_conf(tmp / "nginx", up, nginx_proxy)
            stack.enter_context(server("nginx", [NGINX, "-p", str(tmp / "nginx"), "-c", str(conf), "-g",
                                                 "daemon off;"], env, tmp / "nginx.log", up, answering(direct)))
            config = raccord_config(tmp, upstream)
            served: list[Served] = []
            for t, _, e in plan:
                if t.key.startswith("hello"):
                    worker = "gthread" if t.key == "hello-gthread" else "framework.gateway.hardening.JsonErrorWorker"
                    cmd = hello(t.port, worker)
                else:
                    layout = "2x4" if t.key == "raccord-before" else t.key.split("-", 1)[1]
                    db = {"RACCORD_DATABASE_URL": f"sqlite:///{tmp}/{t.key}.sqlite3"}
                    cmd, e = raccord(config, t.port, layout), {**e, **db}
                proc = stack.enter_context(server(t.key, cmd, e, tmp / f"{t.key}.log", t.port, answering(t)))
                served.append(Served(t, proc.pid))
                if args.signed and t.key.startswith("raccord"):
                    # The same server's signed endpoint (HMAC, nonce stored in SQLite, permission).
                    served.append(Served(Target(f"{t.key}-signed", t.label.replace("open", "signed"), t.port,
                                                "/bench/echo/signed", signed=True), proc.pid))
            rows = measure([direct, *(s.target for s in served)], {s.target.key: s.pgid for s in served}, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(rows, [direct, *(s.target for s in served)], args)
    print(text)
    if args.out:
        write(text, args.out)
        print(f"written to {args.out}")


Row = dict[str, tuple[float, float, float, float]]  # key → p50 µs, p99 µs, req/s, CPU µs per request


def measure(targets: list[Target], groups: dict[str, int], args: argparse.Namespace, tmp: Path) -> list[Row]:
    rows: list[Row] = []
    for r in range(args.rounds):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        lat = sequential(order, args.warmup, args.calls)
        counted = {t.key: [0.0, 0.0, 0.0] for t in targets}
        for _ in range(args.seconds):
            for t in order:
                if t.key not in groups:
                    continue
                cpu0 = group_cpu(groups[t.key])
                n, elapsed, bad = wrk(t, 1, tmp)
                if bad:
                    raise SystemExit(f"{t.label}: {bad} non-2xx answers or socket errors under wrk")
                counted[t.key][0] += n
                counted[t.key][1] += elapsed
                counted[t.key][2] += group_cpu(groups[t.key]) - cpu0
        row: Row = {}
        for t in targets:
            done, took, cpu = counted[t.key]
            row[t.key] = (pct(lat[t.key], 0.5), pct(lat[t.key], 0.99), done / took if took else 0.0,
                          1e6 * cpu / done if done else 0.0)
        rows.append(row)
        print(f"round {r + 1}/{args.rounds} (load {os.getloadavg()[0]:.1f}): " + ", ".join(
            f"{k} {v[0]:.0f}/{v[1]:.0f} µs {v[2]:,.0f}/s {v[3]:.0f} µs CPU" for k, v in row.items()), flush=True)
        time.sleep(0.5)
    return rows


def report(rows: list[Row], targets: list[Target], args: argparse.Namespace) -> str:
    def med(key: str, i: int) -> float:
        return statistics.median(row[key][i] for row in rows)

    def added(key: str, i: int) -> float:
        return statistics.median(row[key][i] - row["direct"][i] for row in rows)

    lines = [
        "# Server side: raccord's gunicorn worker, before and after",
        "",
        f"`bench/server.py --rounds {args.rounds}{f' --before {args.before}' if args.before else ''} "
        f"--layouts {args.layouts}` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores shared with other work "
        f"(load average {os.getloadavg()[0]:.1f} at the end). Medians over the rounds of: sequential keep-alive "
        f"latency ({args.calls} calls per path per round, *added* = minus the upstream's own in the same round), "
        f"`wrk -t2 -c20` req/s ({args.seconds} × 1 s per path per round) and the CPU time the server's processes "
        "used per request under wrk.",
        "",
        "| path | p50 | p99 | added p50 | added p99 | req/s (wrk) | server CPU per request |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in targets:
        if t.key == "direct":
            lines.append(f"| {t.label} | {med('direct', 0):.0f} µs | {med('direct', 1):.0f} µs | — | — | — | — |")
            continue
        lines.append(f"| {t.label} | {med(t.key, 0):.0f} µs | {med(t.key, 1):.0f} µs | {added(t.key, 0):.0f} µs "
                     f"| {added(t.key, 1):.0f} µs | {med(t.key, 2):,.0f} | {med(t.key, 3):.0f} µs |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
