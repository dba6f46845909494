"""One dribbling business server: the other instances' latency, bulkhead on and off,
side by side in one run (the machine is shared: compare ratios).

    .venv/bin/python bench/bulkhead.py [--seconds 8] [--rounds 2] [--slow-callers 12]

Processes: the hostile test server (tests/framework/outbound/hostile.py) serving both a
fast JSON (``/ok``) and a dribbled one (``/dribble/0.5``: a byte every 0.5 s); two
gateways under gunicorn (2 gthread workers × 4 threads) over the same territory — 3
normal instances and one whose server dribbles (``total_timeout = 10``) — one with the
default bulkhead (2 slots per binding and process), one with the slow binding allowed
every thread (``max_concurrency = 64``: no bulkhead); the slow binding's circuit breaker is
off (it would open after 5 timeouts and hide what the bulkhead does). Each round measures, per gateway:
"quiet" — 2 client threads calling the normal instances for ``--seconds``; "dribbling"
— the same while ``--slow-callers`` threads keep calling the slow instance (after a 503, a
caller tries again 0.5 s later, like an impatient user). Latencies
are of the normal instances' calls only (keep-alive http.client).
Writes docs/benchmarks/bulkhead.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway import free_port, get  # noqa: E402


def wait_ready(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(port, path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"port {port} did not become ready")

NORMAL = ("n1", "n2", "n3")


def run_hostile(port_out: Any) -> None:
    from tests.framework.outbound.hostile import HostileServer

    with HostileServer() as server:
        port_out.put(server.port)
        while True:
            time.sleep(3600)


def config(upstream: str, tmp: Path, slow_concurrency: int) -> Path:
    path = tmp / f"instances-{slow_concurrency}.toml"
    # Errors answered with their own HTTP status (not Passerelle's 200 + err 1), so the
    # callers count the bulkhead's 503s and back off after one as a user would.
    blocks = ['[territory]\nname = "bench"\n\n[gateway]\nerror_status = "http"\n\n'
              '[profiles.echo]\nconnector = "bench_echo"\n']
    for name in (*NORMAL, "slow"):
        url = f"{upstream}/dribble/0.5" if name == "slow" else f"{upstream}/ok"
        # The breaker would open after 5 timeouts and hide the bulkhead: measured without it
        # (a server answering in 25 s of a 30 s deadline never opens it either).
        extra = (f"\ntotal_timeout = 10\nmax_concurrency = {slow_concurrency}\nbreaker_threshold = 1000"
                 if name == "slow" else "")
        blocks.append(f'[instances.{name}]\nprofiles = ["echo"]\n\n'
                      f'[instances.{name}.settings.echo]\nurl = "{url}"{extra}\n')
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def start_gateway(cfg: Path, tmp: Path, port: int) -> tuple[subprocess.Popen[bytes], Any]:
    code = ("from framework.gateway.server import serve; "
            f"serve({str(cfg)!r}, port={port}, workers=2, threads=4, plugins=['bench.gateway_connector'], "
            f"database_url='sqlite:///{tmp}/{cfg.stem}.sqlite3')")
    log = (tmp / f"{cfg.stem}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port, "/readyz")
    return proc, log


def caller(port: int, paths: list[str], stop: threading.Event, out: list[tuple[float, int]]) -> None:
    """Call ``paths`` in turn until ``stop``; record (seconds, status) of each call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("GET", paths[i % len(paths)])
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            status = 0
        out.append((time.perf_counter() - started, status))
        if status == 503:
            time.sleep(0.5)  # an impatient user clicking again (the retry hint says 5 s)
        i += 1
    conn.close()


def phase(port: int, seconds: float, slow_callers: int) -> dict[str, Any]:
    stop = threading.Event()
    normal: list[tuple[float, int]] = []
    slow: list[tuple[float, int]] = []
    paths = [f"/{name}/echo/echo" for name in NORMAL]
    threads = [threading.Thread(target=caller, args=(port, ["/slow/echo/echo"], stop, slow))
               for _ in range(slow_callers)]
    for t in threads:
        t.start()
    time.sleep(1.0 if slow_callers else 0)  # the slow calls are in
    normal_threads = [threading.Thread(target=caller, args=(port, paths, stop, normal)) for _ in range(2)]
    for t in normal_threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in normal_threads:
        t.join()
    # Slow callers still waiting on a held call are abandoned (their call ends at the deadline).
    times = sorted(t for t, _ in normal)
    return {
        "calls": len(times),
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        "errors": sum(1 for _, s in normal if s != 200),
        "slow_503": sum(1 for _, s in slow if s == 503),
        "slow_504": sum(1 for _, s in slow if s == 504),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--slow-callers", type=int, default=12)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="raccord-bulkhead-"))
    ctx = multiprocessing.get_context("spawn")
    port_q = ctx.Queue()
    hostile = ctx.Process(target=run_hostile, args=(port_q,), daemon=True)
    hostile.start()
    upstream = f"http://127.0.0.1:{port_q.get(timeout=30)}"
    gateways = {}
    try:
        for label, slots in (("bulkhead (default: 2 slots)", 0), ("no bulkhead (max_concurrency = 64)", 64)):
            port = free_port()
            gateways[label] = (port, *start_gateway(config(upstream, tmp, slots), tmp, port))
        rows: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for label, (port, _, _) in gateways.items():
                phase(port, 1, 0)  # warm up the pools
                rows.setdefault(f"{label}|quiet", []).append(phase(port, args.seconds, 0))
                rows.setdefault(f"{label}|dribbling", []).append(phase(port, args.seconds, args.slow_callers))
                time.sleep(11)  # let the held slow calls end at their deadline before the next phase
    finally:
        for _, proc, log in gateways.values():
            proc.terminate()
            proc.wait(15)
            log.close()
        hostile.kill()
    report(rows, args)
    shutil.rmtree(tmp, ignore_errors=True)


def report(rows: dict[str, list[dict[str, Any]]], args: Any) -> None:
    def med(label: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[label])

    lines = [
        "# Bulkheads: one dribbling business server, the other instances' latency",
        "",
        f"`bench/bulkhead.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, shared machine): "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s per phase; gunicorn 2 workers × 4 "
        "threads; 2 client threads over 3 normal instances; in the dribbling phase "
        f"{args.slow_callers} more threads keep calling the slow instance, whose server sends a byte "
        "every 0.5 s (`total_timeout = 10`, circuit breaker off). Medians over rounds of each phase's p50/p99.",
        "",
        "| gateway | phase | normal calls | p50 ms | p99 ms | p99 / quiet p99 | normal errors "
        "| slow: 503 fast | slow: 504 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(k.split("|")[0] for k in rows):
        quiet = med(f"{label}|quiet", "p99_ms")
        for ph in ("quiet", "dribbling"):
            key = f"{label}|{ph}"
            lines.append(
                f"| {label} | {ph} | {med(key, 'calls'):.0f} | {med(key, 'p50_ms'):.1f} | {med(key, 'p99_ms'):.1f} "
                f"| {med(key, 'p99_ms') / quiet:.2f}× | {med(key, 'errors'):.0f} | {med(key, 'slow_503'):.0f} "
                f"| {med(key, 'slow_504'):.0f} |")
    lines += [
        "",
        "Target: with the bulkhead, the other instances' p99 while one server dribbles stays within 2× "
        "of the quiet p99. Without it, the slow binding's callers take every thread and the other "
        "instances wait for the deadline of the calls ahead of them.",
        "",
        "Raw rounds:",
        "",
        "```json",
        json.dumps(rows, indent=1),
        "```",
        "",
    ]
    out = ROOT / "docs" / "benchmarks" / "bulkhead.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:14 + 2 * len(rows)]))


if __name__ == "__main__":
    main()
