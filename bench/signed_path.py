"""The signed-call hot path in process: nonce insert p50/p99 with the journals on and
off, a whole signed call through the WSGI app, and where its time goes (cProfile).

Before / after, side by side: ``--before REV`` extracts that commit of the repository
(``git archive``) into a temporary directory, and each round runs one worker process on
the old tree and one on this one, alternately (order rotated), on fresh databases. Each
worker imports ``framework`` from its own tree and measures the same things through
APIs both trees share (``make_app``, ``NonceStore.remember``, ``BatchedJournal.record``).

- nonce insert: ``gateway.auth.nonces.remember`` on one thread, N times; "journals on"
  records, after each insert, the inbound and the outbound journal row a signed call
  writes (the writers flush on their own threads, as under gunicorn);
- signed call: the WSGI app called directly (no HTTP server) on ``GET
  /bench/echo/signed?…signature=…``, whose endpoint does ``self.http.get_json`` against a
  stub transport (``HTTPAdapter.send`` answers at once): the gateway's own path,
  outbound client included, without the network;
- profile: cProfile of 10,000 such calls, the share of the main parts.

Writes docs/benchmarks/signed_path.md.

    .venv/bin/python bench/signed_path.py [--before REV] [--after REV] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "signed-path-bench-secret"
ORIG = "wcs.bench.test"
BODY = b'{"ok": true, "items": [1, 2, 3]}'


# -- the worker: runs on one tree ------------------------------------------------------------

def _worker(tree: str, db_url: str, nonces_n: int, calls_n: int, profile_n: int) -> dict[str, Any]:
    sys.path.insert(0, tree)
    import framework

    assert str(Path(framework.__file__).resolve()).startswith(str(Path(tree).resolve())), framework.__file__
    import requests

    from framework import Call, Connector, Setting, endpoint, hookimpl
    from framework.gateway.app import make_app
    from framework.plugins import make_plugin_manager

    class BenchEcho(Connector):
        """Forwards to the stub upstream."""

        id = "bench_echo"
        title = "bench"
        url = Setting(str, description="upstream base URL", variability="instance")

        @endpoint(permission="call", description="GET the upstream's JSON, for signed clients.")
        def signed(self, call: Call) -> Any:
            return self.http.get_json(f"{self.settings.url}/json", params={"q": call.params.get("q", "")})

    class Plugin:
        @hookimpl
        def raccord_register_connectors(self, register: Any) -> None:
            register.add(BenchEcho)

    def send(self: Any, request: Any, **kwargs: Any) -> Any:  # the stub transport
        response = requests.Response()
        response.status_code, response._content = 200, BODY
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, request.url or ""
        return response

    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
    tmp = Path(tempfile.mkdtemp())
    config = tmp / "instances.toml"
    config.write_text(f"""
[territory]
name = "bench"

[profiles.echo]
connector = "bench_echo"

[instances.bench]
profiles = ["echo"]

[instances.bench.settings.echo]
url = "http://upstream.invalid"

[instances.bench.clients.wcs]
signature = {{ orig = "{ORIG}", secret = {{ env = "SIGNED_BENCH_SECRET" }} }}
permissions = ["call"]
""", encoding="utf-8")
    os.environ["SIGNED_BENCH_SECRET"] = SECRET
    gw = make_app(config, database_url=db_url.replace("{tmp}", str(tmp)),
                  pm=make_plugin_manager(plugins=[Plugin()], entry_points=False))
    out: dict[str, Any] = {}
    try:
        out.update(_nonce_latencies(gw, nonces_n))
        if calls_n:
            out.update(_signed_calls(gw, calls_n))
        if profile_n:
            out.update(_profile(gw, profile_n))
    finally:
        gw.close()
    return out


def _nonce_latencies(gw: Any, n: int, block: int = 1000) -> dict[str, Any]:
    """Blocks of ``block`` inserts, journals off and on alternately (noise hits both)."""
    store = gw.auth.nonces
    inbound = gw.journal
    outbound = gw.raccord.outbound.journal
    results: dict[str, list[float]] = {"off": [], "on": [], "during_flush": []}
    flushing = [0]  # journal flushes in progress (on the writers' threads)

    def watched(flush: Any) -> Any:
        def run() -> Any:
            flushing[0] += 1
            try:
                return flush()
            finally:
                flushing[0] -= 1
        return run

    for _ in range(5000):  # a fresh SQLite file grows its WAL until the first checkpoint: steady state
        store.remember(ORIG, secrets.token_hex(16))
    i = 0
    for _ in range(max(1, n // block)):
        for label in ("off", "on"):
            samples = results[label]
            for writer in (inbound, outbound):  # the writers' threads call self.flush()
                writer.flush = watched(type(writer).flush.__get__(writer))
            for _ in range(block):
                i += 1
                nonce = secrets.token_hex(16)
                during = flushing[0] > 0
                t = time.perf_counter()
                store.remember(ORIG, nonce)
                took = (time.perf_counter() - t) * 1e6
                samples.append(took)
                if during or flushing[0] > 0:
                    results["during_flush"].append(took)
                if label == "on":  # what a signed call journals after its nonce insert
                    inbound.record(instance="bench", profile="echo", endpoint="signed", client="bench.wcs",
                                   method="GET", url=f"/bench/echo/signed?q={i}&nonce=x&signature=y",
                                   status=200, duration_ms=0.7, err_class=None, override=None, incident=None)
                    outbound.record(instance="bench", profile="echo", method="GET",
                                    url=f"http://upstream.invalid/json?q={i}", status=200, duration_ms=0.2)
            for writer in (inbound, outbound):
                del writer.flush
                writer.flush()  # untimed: the next "off" block has no journal work
    return {f"nonce_{k}": _pcts(v) for k, v in results.items()}


def _sign(query: str) -> str:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    message = f"{query}&orig={ORIG}&algo=sha256&timestamp={urllib.parse.quote(ts)}&nonce={secrets.token_hex(16)}"
    sig = base64.b64encode(hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).digest()).decode()
    return f"{message}&signature={urllib.parse.quote(sig, safe='')}"


def _environ(query: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/bench/echo/signed", "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr}


def _batches(n: int, size: int = 500) -> Any:
    """Environs signed just before use (the ±30 s window), ``size`` at a time."""
    done = 0
    while done < n:
        count = min(size, n - done)
        yield [_environ(_sign(f"q=rue+de+la+gare&n={done + i}")) for i in range(count)]
        done += count


def _call(gw: Any, environ: dict[str, Any]) -> None:
    status: list[str] = []
    gw(environ, lambda s, h, *a: status.append(s))
    if not status[0].startswith("200"):
        raise SystemExit(f"signed call answered {status[0]}")


def _signed_calls(gw: Any, n: int) -> dict[str, Any]:
    for batch in _batches(200):
        for env in batch:
            _call(gw, env)  # warm-up
    samples = []
    for batch in _batches(n):
        for env in batch:
            t = time.perf_counter()
            _call(gw, env)
            samples.append((time.perf_counter() - t) * 1e6)
    return {"signed_call": _pcts(samples)}


#: Parts of a call reported from the profile: label, then (file fragment, function) pairs.
PARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("authentication (Authenticator.authenticate)", (("gateway/auth.py", "authenticate"),)),
    ("nonce insert (NonceStore.remember)", (("gateway/nonces.py", "remember"),)),
    ("signature parse (signature.parse)", (("gateway/signature.py", "parse"),)),
    ("HMAC (signature.matches)", (("gateway/signature.py", "matches"),)),
    ("query string parses (parse_qsl, gateway.query.parse)",
     (("urllib/parse.py", "parse_qsl"), ("gateway/query.py", "parse"))),
    ("endpoint invoke (Raccord.invoke)", (("framework/app.py", "invoke"),)),
    ("outbound get_json (OutboundHTTP)", (("outbound/client.py", "get_json"),)),
    ("inbound journal row and metrics (Gateway._account)", (("gateway/app.py", "_account"),)),
    ("journal rows queued (BatchedJournal.record, in + out)", (("framework/journal.py", "record"),)),
    ("outbound metrics (metrics.outbound)", (("framework/metrics.py", "outbound"),)),
)


def _profile(gw: Any, n: int) -> dict[str, Any]:
    prof = cProfile.Profile()
    for batch in _batches(n, size=1000):  # signed just before use: the ±30 s window
        prof.enable()
        for env in batch:
            _call(gw, env)
        prof.disable()
    stats = pstats.Stats(prof)
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.stats.items())  # type: ignore[attr-defined]
    parts = {}
    for label, targets in PARTS:
        cum = calls = 0.0
        for (file, _, func), (_, nc, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if any(func == name and fragment in file.replace(os.sep, "/") for fragment, name in targets):
                cum += ct
                calls += nc
        parts[label] = (100 * cum / total if total else 0.0, calls / n)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
    top = [line.strip() for line in buf.getvalue().splitlines() if "(" in line and "/" in line][:12]
    return {"profile_us": total / n * 1e6, "profile_parts": parts, "profile_top": top}


def _pcts(samples: list[float]) -> list[float]:
    samples = sorted(samples) or [0.0]
    n = len(samples)
    return [samples[n // 2], samples[int(n * 0.99)], samples[int(n * 0.999)], samples[int(n * 0.9)]]


# -- the driver: interleaved rounds over the trees --------------------------------------------

def _extract(rev: str, dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "framework"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _run(tree: Path, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--db", db_url,
           "--nonces", str(args.nonces), "--calls", str(args.calls), "--profile", str(args.profile_calls)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _pg_database(admin: str, name: str) -> str:
    import psycopg

    base = admin.replace("+psycopg", "")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def _drop_pg(admin: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="git revision measured side by side (e.g. main)")
    parser.add_argument("--after", help="git revision measured as \"after\" (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nonces", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--profile-calls", type=int, default=10000)
    parser.add_argument("--pg", help="also measure on PostgreSQL (admin URL; a scratch database is made)")
    parser.add_argument("--worker")
    parser.add_argument("--db")
    parser.add_argument("--profile", type=int)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.db, args.nonces, args.calls, args.profile)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        after = _extract(args.after, Path(tmp) / "after") if args.after else ROOT
        trees = {"after": after}
        if args.before:
            trees = {"before": _extract(args.before, Path(tmp) / "before"), "after": after}
        backends = [("SQLite", "sqlite:///{tmp}/bench.sqlite3")]
        if args.pg:
            backends.append(("PostgreSQL", args.pg))
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in range(args.rounds):
            order = list(trees.items()) if r % 2 == 0 else list(reversed(trees.items()))
            for backend, url in backends:
                for name, tree in order:
                    db = _pg_database(url, f"signed_bench_{os.getpid()}") if backend == "PostgreSQL" else url
                    try:
                        results.setdefault((backend, name), []).append(_run(tree, db, args))
                    finally:
                        if backend == "PostgreSQL":
                            _drop_pg(url, db)
                    print(f"round {r + 1} {backend} {name} done", file=sys.stderr)
    text = _report(results, args, list(trees))
    print(text)
    (ROOT / "docs" / "benchmarks" / "signed_path.md").write_text(text, encoding="utf-8")


def _median(runs: list[dict[str, Any]], key: str, i: int) -> float:
    return statistics.median(run[key][i] for run in runs)


def _report(results: dict[tuple[str, str], list[dict[str, Any]]], args: argparse.Namespace,
            names: list[str]) -> str:
    lines = ["# Signed-call hot path, in process: before / after", "",
             f"`bench/signed_path.py --before {args.before or '-'} --after {args.after or '-'} "
             f"--rounds {args.rounds}`: each round runs "
             "one worker process per tree, alternately (order rotated), on fresh databases; medians of "
             f"the rounds. 2 shared cores: compare within one run. Nonce inserts: {args.nonces} per "
             "variant, one thread, in blocks of 1,000 alternating journals off / on; \"journals on\" "
             "records the inbound and outbound rows of a call after each insert, their writers flushing "
             "on their own threads (as under gunicorn). Signed call: the WSGI app called "
             f"directly, {args.calls} calls, stub upstream transport.", "",
             "Nonce columns: µs per `remember()`; \"during a flush\" are the inserts of the journals-on "
             "blocks that started or ended while a journal writer was flushing. p99s on a machine shared "
             "by several developers are mostly scheduler noise (a preempted thread waits a time slice): "
             "read the p50s and p90s first.", "",
             "| database | tree | nonce off p50 | off p90 | off p99 | nonce on p50 | on p90 | on p99 "
             "| during a flush p50 | p90 | signed call p50 µs | p90 | p99 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (backend, name), runs in results.items():
        cells = [_median(runs, "nonce_off", i) for i in (0, 3, 1)] + \
            [_median(runs, "nonce_on", i) for i in (0, 3, 1)] + \
            [_median(runs, "nonce_during_flush", i) for i in (0, 3)] + \
            [_median(runs, "signed_call", i) for i in (0, 3, 1)]
        lines.append(f"| {backend} | {name} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")
    if len(names) == 2:
        lines += ["", "| ratio after / before (medians) | nonce on p50 | nonce on p90 | during a flush p50 "
                  "| during a flush p90 | signed call p50 | signed call p90 |", "|---|---|---|---|---|---|---|"]
        for backend in dict.fromkeys(b for b, _ in results):
            before, after = results[(backend, names[0])], results[(backend, names[1])]
            ratios = [_median(after, k, i) / max(_median(before, k, i), 1e-9)
                      for k, i in (("nonce_on", 0), ("nonce_on", 3), ("nonce_during_flush", 0),
                                   ("nonce_during_flush", 3), ("signed_call", 0), ("signed_call", 3))]
            lines.append(f"| {backend} | " + " | ".join(f"{r:.2f}×" for r in ratios) + " |")
    lines += ["", f"## cProfile of {args.profile_calls} signed calls (SQLite, last round)", "",
              "| part | " + " | ".join(f"{n}: % of time | {n}: calls per call" for n in names) + " |",
              "|---|" + "---|---|" * len(names)]
    sqlite_runs = {n: results[("SQLite", n)][-1] for n in names if ("SQLite", n) in results}
    lines.append("| whole call under the profiler (µs) | " + " | ".join(
        f"{run['profile_us']:.0f} | 1" for run in sqlite_runs.values()) + " |")
    for label, _ in PARTS:
        lines.append(f"| {label} | " + " | ".join(
            f"{run['profile_parts'][label][0]:.1f} % | {run['profile_parts'][label][1]:.2f}"
            for run in sqlite_runs.values()) + " |")
    for n, run in sqlite_runs.items():
        lines += ["", f"Top functions by own time ({n}):", "", "```", *run["profile_top"], "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
