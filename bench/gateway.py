"""Gateway throughput and added latency, side by side with calling the same local
fake upstream directly, in one run (the machine is shared: compare ratios).

    .venv/bin/python bench/gateway.py [--calls 2000] [--rounds 3] [--seconds 5]

Processes: a fake upstream (keep-alive HTTP/1.1, static JSON) in its own process;
the gateway under its real server (gunicorn, 2 gthread workers) in front of it with a
bench connector whose endpoint GETs the upstream through the binding's HTTP client.
Latency: sequential keep-alive calls (http.client) — direct, through the gateway
unsigned, through the gateway with a Publik signature (nonce stored, journal row
written). Throughput: wrk -t2 -c20 (signed URLs pre-generated, one nonce each),
or a multi-process Python generator when wrk is missing.
Writes docs/benchmarks/gateway.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import http.client
import multiprocessing
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework import Call, Connector, Setting, endpoint, hookimpl  # noqa: E402
from framework.registry import ConnectorRegister  # noqa: E402

BODY = b'{"ok": true, "items": [1, 2, 3]}'
SECRET = "bench-shared-secret"
ORIG = "wcs.bench.test"


# -- the bench connector (imported by the gateway workers as plugin bench.gateway) ----------

class BenchEcho(Connector):
    """Forwards to the fake upstream."""

    id = "bench_echo"
    title = "bench"
    url = Setting(str, description="upstream base URL", variability="instance")

    @endpoint(permission="open", description="GET the upstream's JSON.")
    def echo(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/json")

    @endpoint(permission="call", description="Same, for signed clients only.")
    def signed(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/json")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(BenchEcho)


# -- fake upstream ---------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm
    # meets the client's delayed ACK and every call waits 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        pass


def run_upstream(port: int) -> None:
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


# -- helpers ---------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign(query: str, nonce: bool = True) -> str:
    """The recipe of PUBLIK-SIGNATURE.md (independent of framework.gateway)."""
    ts = urllib.parse.quote(dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    message = f"{query}&algo=sha256&timestamp={ts}"
    if nonce:
        message += f"&nonce={secrets.token_hex(16)}"
    digest = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()
    return f"{message}&signature={urllib.parse.quote(base64.b64encode(digest).decode(), safe='')}"


def wait_ready(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} did not become ready")


def config(upstream: int, tmp: Path) -> Path:
    path = tmp / "instances.toml"
    path.write_text(f"""
[territory]
name = "bench"

[profiles.echo]
connector = "bench_echo"

[instances.bench]
profiles = ["echo"]

[instances.bench.settings.echo]
url = "http://127.0.0.1:{upstream}"

[instances.bench.clients.wcs]
signature = {{ orig = "{ORIG}", secret = {{ env = "BENCH_WCS_SECRET" }} }}
permissions = ["call"]

[instances.bench.clients.nononce]
signature = {{ orig = "nononce.bench.test", secret = {{ env = "BENCH_WCS_SECRET" }}, nonce = "optional" }}
permissions = ["call"]
""", encoding="utf-8")
    return path


# -- latency ---------------------------------------------------------------------------------

def sequential(port: int, paths: list[str]) -> tuple[float, float]:
    """p50, p99 in µs of sequential keep-alive GETs (each path once, in order)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        data = resp.read()
        times.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise SystemExit(f"GET {path[:80]} answered {resp.status}: {data[:300]!r}")
    conn.close()
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def sequential_requests(port: int, n: int) -> tuple[float, float]:
    import requests

    s = requests.Session()
    s.trust_env = False
    times = []
    url = f"http://127.0.0.1:{port}/json"
    for _ in range(n):
        t0 = time.perf_counter()
        s.get(url, timeout=5).json()
        times.append(time.perf_counter() - t0)
    s.close()
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


# -- throughput ------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {}
local counter = 0
-- "id" is a global set per thread by setup(): each thread takes every other URL,
-- so no nonce is sent twice.
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then paths[#paths + 1] = line end
    i = i + 1
  end
  n = 0
end
function request()
  n = n + 1
  return wrk.format("GET", paths[n])
end
"""


def wrk(port: int, path: str, seconds: int, urls: Path | None, tmp: Path) -> tuple[float, int]:
    """requests/s and non-2xx count."""
    cmd = ["wrk", "-t2", "-c20", f"-d{seconds}s", "--latency"]
    if urls is not None:
        script = tmp / "signed.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        cmd += ["-s", str(script), f"http://127.0.0.1:{port}{path}", "--", str(urls), "2"]
    else:
        cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(next(x for x in out.splitlines() if x.startswith("Requests/sec:")).split()[1])
    bad = next((int(x.split()[-1]) for x in out.splitlines() if "Non-2xx" in x), 0)
    return rps, bad


def _pyload(port: int, paths: list[str], deadline: float, out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    done = bad = 0
    for path in paths:
        if time.monotonic() > deadline:
            break
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        done += 1
        bad += resp.status != 200
    out.put((done, bad))


def pyload(port: int, paths: list[str], seconds: int, procs: int = 4) -> tuple[float, int]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = time.monotonic()
    workers = [ctx.Process(target=_pyload, args=(port, paths[i::procs], start + seconds, out))
               for i in range(procs)]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=3, help="length of each throughput run")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="raccord-bench-"))
    up_port, gw_port = free_port(), free_port()
    upstream = multiprocessing.get_context("spawn").Process(target=run_upstream, args=(up_port,), daemon=True)
    upstream.start()
    wait_ready(up_port, "/json")
    cfg = config(up_port, tmp)
    env = {**os.environ, "BENCH_WCS_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    code = ("from framework.gateway.server import serve; "
            f"serve({str(cfg)!r}, port={gw_port}, workers={args.workers}, threads=4, "
            f"plugins=['bench.gateway'], database_url='sqlite:///{tmp}/bench.sqlite3')")
    log = (tmp / "gateway.log").open("wb")
    gateway = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_ready(gw_port, "/readyz")
        rows = measure(args, up_port, gw_port, tmp)
    finally:
        gateway.terminate()
        gateway.wait(15)
        log.close()
        upstream.kill()
    report(rows, args)
    shutil.rmtree(tmp, ignore_errors=True)


def measure(args: Any, up: int, gw: int, tmp: Path) -> dict[str, Any]:
    n = args.calls
    open_path, signed_base = "/bench/echo/echo", f"/bench/echo/signed?orig={ORIG}"
    # warm up both workers and their connection pools
    sequential(gw, [open_path] * 200)
    sequential(gw, [f"{'/bench/echo/signed'}?{sign(f'orig={ORIG}')}" for _ in range(200)])
    lat: dict[str, list[tuple[float, float]]] = {k: [] for k in ("direct", "requests", "open", "signed")}
    for _ in range(args.rounds):  # interleaved rounds: the machine's load hits all alike
        lat["direct"].append(sequential(up, ["/json"] * n))
        lat["requests"].append(sequential_requests(up, n))
        lat["open"].append(sequential(gw, [open_path] * n))
        signed = [f"/bench/echo/signed?{sign(f'orig={ORIG}')}" for _ in range(n)]
        lat["signed"].append(sequential(gw, signed))
    med = {k: (statistics.median(p for p, _ in v), statistics.median(q for _, q in v)) for k, v in lat.items()}
    use_wrk = shutil.which("wrk") is not None
    per_round = 6000 * args.seconds  # more signed URLs than the gateway can serve in a round
    runs: dict[str, list[tuple[float, int]]] = {k: [] for k in ("direct", "open", "signed", "nononce")}
    for _ in range(args.rounds):  # interleaved again: other load hits every variant alike
        signed_urls = [f"/bench/echo/signed?{sign(f'orig={ORIG}')}" for _ in range(per_round)]
        nononce = f"/bench/echo/signed?{sign('orig=nononce.bench.test', nonce=False)}"  # fresh timestamp
        if use_wrk:
            urls = tmp / "signed.txt"
            urls.write_text("\n".join(signed_urls), encoding="utf-8")
            runs["direct"].append(wrk(up, "/json", args.seconds, None, tmp))
            runs["open"].append(wrk(gw, open_path, args.seconds, None, tmp))
            runs["signed"].append(wrk(gw, "/", args.seconds, urls, tmp))
            runs["nononce"].append(wrk(gw, nononce, args.seconds, None, tmp))
        else:
            runs["direct"].append(pyload(up, ["/json"] * per_round, args.seconds))
            runs["open"].append(pyload(gw, [open_path] * per_round, args.seconds))
            runs["signed"].append(pyload(gw, signed_urls, args.seconds))
            runs["nononce"].append(pyload(gw, [nononce] * per_round, args.seconds))
    thr = {k: (statistics.median(r for r, _ in v), sum(b for _, b in v)) for k, v in runs.items()}
    del signed_base
    time.sleep(0.6)  # the workers write their journal every 0.2 s
    return {"lat": med, "thr": thr, "tool": "wrk -t2 -c20" if use_wrk else "4 Python processes",
            "load": os.getloadavg(), "errors": journal_errors(tmp)}


def journal_errors(tmp: Path) -> dict[str, int]:
    """Refusals and failures the gateway journaled, by status and class (and a sample message)."""
    from sqlalchemy import func, select

    from framework.storage import open_database
    from framework.storage.schema import journal

    db = open_database(f"sqlite:///{tmp}/bench.sqlite3")
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(select(journal.c.status, journal.c.err_class, func.count())
                                .where(journal.c.status >= 300)
                                .group_by(journal.c.status, journal.c.err_class)).all()
    finally:
        db.dispose()
    return {f"{status} {err}": int(count) for status, err, count in rows}


def report(rows: dict[str, Any], args: Any) -> None:
    lat, thr = rows["lat"], rows["thr"]
    direct, req = lat["direct"][0], lat["requests"][0]
    lines = [
        "# Gateway benchmark",
        "",
        f"`bench/gateway.py` on {dt.date.today()}, {os.cpu_count()} cores shared with other work "
        f"(load average after the run: {rows['load'][0]:.1f}). Gateway: gunicorn, {args.workers} gthread "
        "workers × 4 threads, SQLite journal and nonce store. Upstream: a keep-alive HTTP/1.1 server "
        "returning static JSON, in its own process. Medians of "
        f"{args.rounds} interleaved rounds of {args.calls} sequential keep-alive calls.",
        "",
        "## Latency",
        "",
        "| path | p50 | p99 | added p50 over direct requests | over direct http.client |",
        "|---|---|---|---|---|",
        f"| upstream direct (http.client) | {direct:.0f} µs | {lat['direct'][1]:.0f} µs | — | — |",
        f"| upstream direct (requests.Session) | {req:.0f} µs | {lat['requests'][1]:.0f} µs "
        f"| — | {req - direct:+.0f} µs |",
        f"| gateway, open endpoint | {lat['open'][0]:.0f} µs | {lat['open'][1]:.0f} µs "
        f"| {lat['open'][0] - req:+.0f} µs | {lat['open'][0] - direct:+.0f} µs |",
        f"| gateway, Publik-signed (HMAC + nonce insert + journal) | {lat['signed'][0]:.0f} µs | "
        f"{lat['signed'][1]:.0f} µs | {lat['signed'][0] - req:+.0f} µs | {lat['signed'][0] - direct:+.0f} µs |",
        "",
        f"## Throughput ({rows['tool']}, median of {args.rounds} interleaved runs of {args.seconds} s; "
        "the load generator shares the cores)",
        "",
        "| path | requests/s | non-2xx (all runs) |",
        "|---|---|---|",
        f"| upstream direct | {thr['direct'][0]:,.0f} | {thr['direct'][1]} |",
        f"| gateway, open endpoint | {thr['open'][0]:,.0f} | {thr['open'][1]} |",
        f"| gateway, Publik-signed | {thr['signed'][0]:,.0f} | {thr['signed'][1]} |",
        f"| gateway, signed without nonce (client with nonce = \"optional\"; one URL replayed) | "
        f"{thr['nononce'][0]:,.0f} | {thr['nononce'][1]} |",
        "",
        f"Errors journaled by the gateway during the run: {rows['errors'] or 'none'}.",
        "",
        "Targets (issue 3): added median latency ≤ 1 ms; ≥ 1,000 signed calls/s on 2 cores.",
        "The issue's baseline is the upstream called directly with requests: "
        f"added p50 {(lat['open'][0] - req) / 1000:.2f} ms (open), {(lat['signed'][0] - req) / 1000:.2f} ms "
        f"(signed); over raw http.client {(lat['signed'][0] - direct) / 1000:.2f} ms (signed); "
        f"signed throughput: {thr['signed'][0]:,.0f}/s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "docs" / "benchmarks" / "gateway.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    prev = out.read_text(encoding="utf-8") if out.exists() else ""
    notes = prev.split("\n## Notes", 1)[1] if "\n## Notes" in prev else ""
    out.write_text(text + ("\n## Notes" + notes if notes else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
