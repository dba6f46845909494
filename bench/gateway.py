"""raccord's gateway against hand-written proxies, side by side, in one interleaved run.

    .venv/bin/python bench/gateway.py [--rounds 12] [--quick] [--out docs/benchmarks/gateway.md]

Servers, all on 127.0.0.1, each in its own process group:
- upstream: nginx (one worker) answering a 306-byte JSON with ``return 200``; the same
  nginx also proxies to itself with upstream keep-alive (the floor of any proxy);
- (c) bench/anchors/proxy.py: a Flask route doing ``session.get(upstream).content``
  with a module-level requests.Session, under gunicorn gthread -w 2 --threads 4;
- (d) bench/anchors/signed_proxy.py: (c) + a Publik signature check + one autocommit
  SQLite (WAL) insert of the nonce per call;
- raccord: ``raccord serve --role gateway`` (2 workers × 4 threads) with the connector
  of bench/gateway_connector.py: an open endpoint and a signed one, each doing
  ``self.http.get_json(upstream)``.

Every round measures every path, in an order rotated from round to round (load from
other work on the machine then hits every path alike): sequential keep-alive latency
with raw http.client (warm-up, then ``--calls`` calls per path, the paths taking turns
by blocks of 50 calls; signed URLs pre-generated, each with its own nonce), then
throughput with ``wrk -t2 -c20`` (signed URLs pre-generated, unique nonces, cycled by a
Lua script), ``--seconds`` per path in runs of ``--slice`` seconds, the paths taking
turns. *Added* latency is a path's percentile minus the upstream's own (called
directly) in the same round. The report gives medians of
the per-round ratios against the targets of issue #14, and the absolute figures.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT / "bench" / "anchors"
DOC = ROOT / "docs" / "benchmarks" / "gateway.md"
SECRET = "bench-shared-secret"
ORIG = "wcs.bench.test"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def body_306() -> str:
    """A 306-byte JSON document (what the issue's measurements used), nginx-quotable."""
    doc = {"id": 1234, "name": "Place de la Comédie", "status": "open", "items": list(range(10)),
           "address": {"street": "1 rue des Récollets", "postcode": "57000", "city": "Metz"}, "pad": ""}
    raw = json.dumps(doc, ensure_ascii=False)
    doc["pad"] = "x" * (306 - len(raw.encode()))
    text = json.dumps(doc, ensure_ascii=False)
    assert len(text.encode()) == 306 and "'" not in text and "$" not in text and "\\" not in text
    return text


# -- processes ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@contextmanager
def server(name: str, cmd: Sequence[str], env: dict[str, str], log: Path, port: int,
           ready: Callable[[], bool], timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` in its own process group until the block ends; wait until ``ready()``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited ({proc.returncode}) before answering:\n"
                                     + log.read_text(errors="replace")[-3000:])
                try:
                    if ready():
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not answer on port {port} within {timeout:.0f} s")
                time.sleep(0.1)
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group we started (gunicorn's master and its workers), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass


def nginx_conf(prefix: Path, up: int, proxy: int) -> Path:
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    temp = prefix / "temp"
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would be nobody
    conf = prefix / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    upstream self {{ server 127.0.0.1:{up}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{up};
        location = /json {{ default_type application/json; return 200 '{body_306()}'; }}
    }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{ proxy_pass http://self; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}
}}
""", encoding="utf-8")
    return conf


def raccord_config(tmp: Path, upstream: str) -> Path:
    path = tmp / "instances.toml"
    path.write_text(f"""
[territory]
name = "bench"

[profiles.echo]
connector = "bench_echo"

[instances.bench]
profiles = ["echo"]

[instances.bench.settings.echo]
url = "{upstream}"

[instances.bench.clients.wcs]
signature = {{ orig = "{ORIG}", secret = {{ env = "BENCH_WCS_SECRET" }} }}
permissions = ["call"]
""", encoding="utf-8")
    return path


def gunicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4",
            "--keep-alive", "5", "--no-control-socket", "-b", f"127.0.0.1:{port}", "--chdir", str(ANCHORS), app]


# -- the client side ---------------------------------------------------------------------------

def sign(query: str) -> str:
    """PUBLIK-SIGNATURE.md's recipe, written independently of framework.gateway."""
    ts = urllib.parse.quote(dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    message = f"{query}&algo=sha256&timestamp={ts}&nonce={secrets.token_hex(16)}"
    digest = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()
    return f"{message}&signature={urllib.parse.quote(base64.b64encode(digest).decode(), safe='')}"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    port: int
    path: str
    signed: bool = False

    def paths(self, n: int) -> list[str]:
        if not self.signed:
            return [self.path] * n
        return [f"{self.path}?{sign(f'orig={ORIG}')}" for _ in range(n)]


BLOCK = 50  # calls to one path before moving to the next (latency phase)


def sequential(order: Sequence[Target], warmup: int, calls: int) -> dict[str, list[float]]:
    """Latencies in µs of ``calls`` sequential keep-alive GETs per path, after ``warmup``.

    One connection per path; the paths take turns by blocks of BLOCK calls, so that a
    burst of load from other work on the machine hits every path alike. Signed URLs are
    generated per block, just before use (the ±30 s window), outside the timed calls."""
    conns = {t.key: http.client.HTTPConnection("127.0.0.1", t.port, timeout=30) for t in order}
    times: dict[str, list[float]] = {t.key: [] for t in order}

    def call(t: Target, n: int, keep: bool) -> None:
        for path in t.paths(n):
            conn = conns[t.key]
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle keep-alive connection while the other paths had
                # their turn (a stall of the loaded machine longer than its keep-alive): a
                # client reconnects and sends again; the reconnection is not timed.
                conn.close()
                conn = conns[t.key] = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
                path = t.paths(1)[0] if t.signed else path  # a fresh nonce, in case the first was seen
                conn.connect()
                t0 = time.perf_counter()
                conn.request("GET", path)
                resp = conn.getresponse()
            data = resp.read()
            elapsed = time.perf_counter() - t0
            if resp.status != 200:
                raise SystemExit(f"{t.label}: GET {path[:60]}… answered {resp.status}: {data[:300]!r}")
            if keep:
                times[t.key].append(elapsed * 1e6)

    try:
        for t in order:
            call(t, warmup, keep=False)
        for start in range(0, calls, BLOCK):
            for t in order:
                call(t, min(BLOCK, calls - start), keep=True)
    finally:
        for conn in conns.values():
            conn.close()
    return {k: sorted(v) for k, v in times.items()}


def check_refusals(target: Target) -> None:
    """A signed path must refuse a tampered URL and a replayed one, or it is not measuring a check."""
    url = target.paths(1)[0]
    tampered = url.replace("&algo=", "&x=1&algo=", 1)  # one more parameter under the signature
    if (status := get(target.port, tampered)[0]) not in (401, 403):
        raise SystemExit(f"{target.label} answered {status} to a tampered signed URL")
    if (status := get(target.port, url)[0]) != 200:
        raise SystemExit(f"{target.label} answered {status} to a correctly signed URL")
    if (status := get(target.port, url)[0]) not in (401, 403):
        raise SystemExit(f"{target.label} answered {status} to a replayed signed URL")


def pct(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


WRK_LUA = """
-- Cycles through the request paths of a file; each wrk thread takes every other line,
-- so that no signed URL (nonce) is sent twice unless the file runs out.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  paths = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == id then paths[#paths + 1] = line end
    i = i + 1
  end
  if #paths == 0 then paths[1] = "/" end
  n = 0
end
function request()
  n = n + 1
  return wrk.format("GET", paths[(n - 1) % #paths + 1])
end
"""


def wrk(target: Target, seconds: float, tmp: Path) -> tuple[int, float, int]:
    """Requests answered, the run's measured duration (s), and non-2xx answers + socket errors."""
    script = tmp / "paths.lua"
    if not script.exists():
        script.write_text(WRK_LUA, encoding="utf-8")
    urls = tmp / "paths.txt"
    # Signed: more URLs than any of these servers answers in the run on 2 cores. Open: one
    # line per wrk thread.
    urls.write_text("\n".join(target.paths(int(12000 * seconds) if target.signed else 2)), encoding="utf-8")
    cmd = [WRK, "-t2", "-c20", f"-d{seconds:g}s", "-s", str(script), f"http://127.0.0.1:{target.port}/",
           "--", str(urls), "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    # "  12345 requests in 1.00s, 3.45MB read"
    done = next(x.split() for x in out.splitlines() if " requests in " in x)
    requests, elapsed = int(done[0]), parse_duration(done[3].rstrip(","))
    bad = sum(int(x.split()[-1]) for x in out.splitlines() if "Non-2xx" in x)
    for line in out.splitlines():
        if "Socket errors" in line:  # "connect 0, read 0, write 0, timeout 0"
            bad += sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
    return requests, elapsed, bad


def parse_duration(text: str) -> float:
    """wrk's durations: "1.00s", "980.12ms", "1.02m"."""
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    raise ValueError(f"wrk duration {text!r}")


# -- the run -----------------------------------------------------------------------------------

@dataclass
class Sample:
    p50: float
    p99: float
    rps: float = 0.0
    bad: int = 0


@dataclass
class Results:
    rounds: list[dict[str, Sample]] = field(default_factory=list)


def measure(targets: list[Target], args: argparse.Namespace, tmp: Path) -> Results:
    results = Results()
    for r in range(args.rounds):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        row: dict[str, Sample] = {}
        lat = sequential(order, args.warmup, args.calls)
        for t in order:
            row[t.key] = Sample(pct(lat[t.key], 0.50), pct(lat[t.key], 0.99))
        # Throughput in slices, the paths taking turns: a burst of load from other work hits
        # every path alike instead of the one whose run it falls in.
        slices = max(1, round(args.seconds / args.slice))
        counted = {t.key: [0, 0.0] for t in order}
        for _ in range(slices):
            for t in order:
                n, elapsed, bad = wrk(t, args.seconds / slices, tmp)
                counted[t.key][0] += n
                counted[t.key][1] += elapsed
                row[t.key].bad += bad
        for t in order:
            row[t.key].rps = counted[t.key][0] / counted[t.key][1]
        results.rounds.append(row)
        print(f"round {r + 1}/{args.rounds} (load {os.getloadavg()[0]:.1f}): " + ", ".join(
            f"{k} {s.p50:.0f}/{s.p99:.0f} µs {s.rps:,.0f}/s" for k, s in row.items()), flush=True)
    return results


#: (label, numerator, denominator, what, target, higher is better)
RATIOS: list[tuple[str, str, str, str, float, bool]] = [
    ("added p50, raccord open / (c)", "open", "c", "p50", 0.55, False),
    ("added p50, raccord signed / (d)", "signed", "d", "p50", 0.55, False),
    ("added p99, raccord open / (c)", "open", "c", "p99", 1.0, False),
    ("added p99, raccord signed / (c)", "signed", "c", "p99", 1.0, False),
    ("req/s, raccord open / (c)", "open", "c", "rps", 1.5, True),
    ("req/s, raccord signed / (d)", "signed", "d", "rps", 1.5, True),
    ("req/s, raccord signed / raccord open", "signed", "open", "rps", 0.9, True),
]
INFO_RATIOS: list[tuple[str, str, str, str]] = [
    ("added p50, raccord signed / (c)", "signed", "c", "p50"),
    ("added p50, (d) / (c)", "d", "c", "p50"),
    ("req/s, raccord signed / (c)", "signed", "c", "rps"),
    ("req/s, (d) / (c)", "d", "c", "rps"),
]


def value(row: dict[str, Sample], key: str, what: str) -> float:
    s = row[key]
    if what == "rps":
        return s.rps
    direct = row["direct"]
    return s.p50 - direct.p50 if what == "p50" else s.p99 - direct.p99


def ratio(results: Results, num: str, den: str, what: str) -> tuple[float, float, float, int]:
    """Median, min and max over the rounds of the per-round ratio, and how many rounds
    were left out: those where the denominator's added latency was not positive (a
    spike of the direct call's p99 larger than the path's own makes the ratio meaningless)."""
    per_round = [value(r, num, what) / value(r, den, what) for r in results.rounds if value(r, den, what) > 0]
    if not per_round:
        return float("nan"), float("nan"), float("nan"), len(results.rounds)
    return statistics.median(per_round), min(per_round), max(per_round), len(results.rounds) - len(per_round)


def dropped(skipped: int) -> str:
    return f" ({skipped} round{'s' * (skipped > 1)} left out: denominator ≤ 0)" if skipped else ""


def report(results: Results, targets: list[Target], args: argparse.Namespace, load: tuple[float, float]) -> str:
    med = {t.key: {w: statistics.median(value(r, t.key, w) for r in results.rounds) for w in ("p50", "p99", "rps")}
           for t in targets}
    raw = {t.key: {w: statistics.median(getattr(r[t.key], w) for r in results.rounds) for w in ("p50", "p99")}
           for t in targets}
    bad = {t.key: sum(r[t.key].bad for r in results.rounds) for t in targets}
    lines = [
        "# Gateway benchmark: raccord against hand-written proxies",
        "",
        f"`bench/gateway.py --rounds {args.rounds}` on {dt.date.today()}, {os.cpu_count()} cores shared with "
        f"other work (load average {load[0]:.1f} before the run, {load[1]:.1f} after; absolute figures are "
        "pessimistic, the ratios are what count). Every path is measured in every round, in an order rotated "
        f"from round to round: {args.warmup} warm-up then {args.calls} sequential keep-alive calls per path "
        f"with raw http.client (the paths taking turns by blocks of {BLOCK} calls), then "
        f"`wrk -t2 -c20`, {args.seconds:g} s per path in runs of "
        f"{args.seconds / max(1, round(args.seconds / args.slice)):g} s, "
        "the paths taking turns. Signed calls carry pre-generated URLs, "
        "each with its own nonce (latency and wrk alike). *Added* = the path's percentile minus the "
        "upstream's own, called directly, in the same round. Ratios are medians of the per-round ratios "
        "(min–max over the rounds in brackets).",
        "",
        "- upstream: nginx, one worker, `return 200` of a 306-byte JSON;",
        "- nginx proxy: the same nginx proxying to itself with upstream keep-alive (the floor);",
        "- (c) `bench/anchors/proxy.py`: Flask route + module-level requests.Session, gunicorn gthread "
        "-w 2 --threads 4 --keep-alive 5;",
        "- (d) `bench/anchors/signed_proxy.py`: (c) + Publik signature check + one autocommit SQLite "
        "(WAL) insert of the nonce per call;",
        "- raccord: `raccord serve --role gateway` (2 workers × 4 threads, SQLite journal and nonce store), "
        "connector endpoint doing `self.http.get_json(upstream)`; open endpoint, and signed "
        "(HMAC + nonce + permission).",
        "",
        "## Targets (issue #14)",
        "",
        "| ratio | target | measured (median) | min–max | |",
        "|---|---|---|---|---|",
    ]
    for label, num, den, what, goal, higher in RATIOS:
        m, lo, hi, skipped = ratio(results, num, den, what)
        ok = m >= goal if higher else m <= goal
        lines.append(f"| {label} | {'≥' if higher else '≤'} {goal:.2f}× | **{m:.2f}×** | {lo:.2f}–{hi:.2f}"
                     f"{dropped(skipped)} | {'PASS' if ok else 'FAIL'} |")
    lines += ["", "For information:", "", "| ratio | measured (median) | min–max |", "|---|---|---|"]
    for label, num, den, what in INFO_RATIOS:
        m, lo, hi, skipped = ratio(results, num, den, what)
        lines.append(f"| {label} | {m:.2f}× | {lo:.2f}–{hi:.2f}{dropped(skipped)} |")
    lines += [
        "",
        "## Absolute figures (medians over the rounds)",
        "",
        "| path | p50 | p99 | added p50 | added p99 | req/s (wrk) | non-2xx + socket errors (all runs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in targets:
        added = ("—", "—") if t.key == "direct" else (f"{med[t.key]['p50']:.0f} µs", f"{med[t.key]['p99']:.0f} µs")
        lines.append(f"| {t.label} | {raw[t.key]['p50']:.0f} µs | {raw[t.key]['p99']:.0f} µs | {added[0]} "
                     f"| {added[1]} | {med[t.key]['rps']:,.0f} | {bad[t.key]} |")
    return "\n".join(lines) + "\n"


def write(text: str, out: Path) -> None:
    """Replace the generated part of ``out``, keeping its hand-written ``## Notes``."""
    prev = out.read_text(encoding="utf-8") if out.exists() else ""
    fresh = "\n\nWritten by hand; kept when the tables are regenerated.\n"
    notes = prev.split("\n## Notes", 1)[1] if "\n## Notes" in prev else fresh
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n## Notes" + notes, encoding="utf-8")


FRAME = re.compile(r"(.+) \((.+):\d+\)$")  # py-spy raw frames: "function (path/file.py:line)"


def profile(target: Target, master: int, seconds: float, tmp: Path, wall: bool = False) -> None:
    """py-spy (``pip install py-spy`` into the venv; not a project dependency) on the
    gateway's workers while wrk loads ``target``: the share of samples in which each
    function is on the stack (inclusive) and on top of it (self)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not os.path.exists(spy):
        raise SystemExit("py-spy is needed for --profile: .venv/bin/pip install py-spy")
    raw = tmp / "profile.txt"
    rec = subprocess.Popen([spy, "record", "--pid", str(master), "--subprocesses", *([] if wall else ["--gil"]),
                            "--format", "raw", "--rate", "250", "--duration", str(int(seconds)), "--output", str(raw)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    done, elapsed, bad = wrk(target, seconds, tmp)
    rps = done / elapsed
    rec.wait(60)
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    ours: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        matched = [m for f in stack.split(";") if (m := FRAME.match(f))]
        frames = [f"{m[1]} ({Path(m[2]).name})" for m in matched]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        for frame in {f"{m[1]} ({m[2]})" for m in matched if m[2].startswith("framework/") or "/framework/" in m[2]}:
            ours[frame] = ours.get(frame, 0) + n
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n
    print(f"{target.label}: {rps:,.0f} req/s under py-spy ({bad} non-2xx); {total} samples of "
          + ("non-idle threads (waits included)" if wall else "threads holding the GIL"))
    for title, table, top in (("inclusive", inclusive, 30), ("inclusive, raccord's own functions", ours, 30),
                              ("self", own, 25)):
        print(f"\n{title}:")
        for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {100 * n / max(1, total):5.1f} %  {frame}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=12, help="interleaved rounds (default 12)")
    ap.add_argument("--calls", type=int, default=2000, help="sequential calls per path per round")
    ap.add_argument("--warmup", type=int, default=200, help="calls before each latency measurement")
    ap.add_argument("--seconds", type=float, default=5, help="length of each wrk run")
    ap.add_argument("--slice", type=float, default=1, help="wrk runs of this length, the paths taking turns, "
                    "until each path had --seconds")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 300 calls, wrk 2 s; prints, writes nothing "
                    "unless --out is given")
    ap.add_argument("--out", type=Path, default=None, help=f"report file (default {DOC.relative_to(ROOT)})")
    ap.add_argument("--profile", choices=("open", "signed"), help="no benchmark: py-spy records raccord's "
                    "workers under wrk on this path for --seconds, and prints where the time goes")
    ap.add_argument("--wall", action="store_true", help="with --profile: every non-idle thread's samples, "
                    "waits included (default: only threads holding the GIL, i.e. Python's CPU)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.calls, args.warmup, args.seconds = min(args.rounds, 2), 300, 50, 2
    out = args.out or (None if args.quick else DOC)
    for tool in (NGINX, WRK):
        if not os.path.exists(tool):
            raise SystemExit(f"{tool} is needed (apt-get install nginx wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="raccord-bench-gw-"))
    ports = {k: free_port() for k in ("up", "nginx", "c", "d", "raccord")}
    upstream = f"http://127.0.0.1:{ports['up']}/json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_UPSTREAM": upstream, "BENCH_SECRETS": f"{ORIG}={SECRET}",
           "BENCH_NONCE_DB": str(tmp / "anchor-nonces.sqlite3"), "BENCH_WCS_SECRET": SECRET,
           "RACCORD_PLUGINS": "bench.gateway_connector", "RACCORD_DATABASE_URL": f"sqlite:///{tmp}/raccord.sqlite3"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    raccord_bin = str(Path(sys.executable).with_name("raccord"))
    targets = [
        Target("direct", "upstream direct (nginx)", ports["up"], "/json"),
        Target("nginx", "nginx proxy (the floor)", ports["nginx"], "/json"),
        Target("c", "(c) Flask + requests", ports["c"], "/proxy"),
        Target("d", "(d) (c) + signature + SQLite nonce", ports["d"], "/signed", signed=True),
        Target("open", "raccord, open endpoint", ports["raccord"], "/bench/echo/echo"),
        Target("signed", "raccord, signed endpoint", ports["raccord"], "/bench/echo/signed", signed=True),
    ]

    def ok(t: Target) -> Callable[[], bool]:
        return lambda: get(t.port, t.paths(1)[0])[0] == 200

    load_before = os.getloadavg()[0]
    try:
        with ExitStack() as stack:
            conf = nginx_conf(tmp / "nginx", ports["up"], ports["nginx"])
            stack.enter_context(server("nginx", [NGINX, "-p", str(tmp / "nginx"), "-c", str(conf), "-g", "daemon off;"],
                                       env, tmp / "nginx.log", ports["up"], ok(targets[0])))
            stack.enter_context(server("(c)", gunicorn("proxy:app", ports["c"]), env, tmp / "c.log", ports["c"],
                                       ok(targets[2])))
            stack.enter_context(server("(d)", gunicorn("signed_proxy:app", ports["d"]), env, tmp / "d.log",
                                       ports["d"], ok(targets[3])))
            cfg = raccord_config(tmp, upstream)
            serve = [raccord_bin, "--config", str(cfg), "serve", "--role", "gateway",
                     "--port", str(ports["raccord"]), "--workers", "2", "--threads", "4"]
            gateway = stack.enter_context(server("raccord", serve, env, tmp / "raccord.log", ports["raccord"],
                                                 ok(targets[5])))
            for t in targets:
                if t.signed:
                    check_refusals(t)
            if args.profile:
                profile(next(t for t in targets if t.key == args.profile), gateway.pid, args.seconds, tmp, args.wall)
                return
            results = measure(targets, args, tmp)
    finally:
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    text = report(results, targets, args, (load_before, os.getloadavg()[0]))
    print(text)
    if out is not None:
        write(text, out)
        print(f"written to {out}")


if __name__ == "__main__":
    main()
