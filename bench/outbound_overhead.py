"""What the outbound policy costs per call, against bare requests, on 127.0.0.1.

Also the lean request path (framework/outbound/session.py) against requests' own
``Session.request`` under the same OutboundHTTP, interleaved round by round ("before /
after"), with a stub transport and against the local server, and what requests 2.34's
runtime-checkable Protocol checks cost.

And the direct transport (framework/outbound/direct.py: http.client pools) against the
lean urllib3 transport it replaced (the same client, ``LeanAdapter.direct`` off),
interleaved round by round, against a keep-alive server in its own process
(so the client's GIL is its own): wall p50 and the calling thread's CPU time per call
(``time.thread_time``: what a loaded machine cannot inflate much), next to the floors
(http.client, urllib3's ``urlopen``) and bare requests. ``--compare-python`` runs the
same rounds, interleaved, under another interpreter (a venv with another requests).

Runs: a keep-alive JSON server in a thread; N sequential GETs per variant, 3 rounds,
median of the rounds' p50/p99. Also the cost of building a binding's client and of one
journal row (synchronous insert vs the batched writer). Writes
docs/benchmarks/outbound_overhead.md.

    .venv/bin/python bench/outbound_overhead.py [--calls 2000] [--pg URL] [--compare-python PY]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework import journal  # noqa: E402
from framework.outbound import OutboundHTTP  # noqa: E402
from framework.outbound.breaker import CircuitBreaker  # noqa: E402
from framework.outbound.journal_writer import JournalWriter  # noqa: E402
from framework.outbound.policy import OutboundPolicy  # noqa: E402
from framework.storage import open_database  # noqa: E402
from framework.storage.db import Database  # noqa: E402

BODY = b'{"ok": true, "items": [1, 2, 3]}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the answer so headers and body leave in one segment: unbuffered writes
    # meet delayed ACKs and cost 40 ms per call.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def measure(call: Callable[[], Any], n: int, rounds: int = 3) -> tuple[float, float]:
    p50s, p99s = [], []
    for _ in range(rounds):
        for _ in range(50):
            call()  # warm the pool
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t) * 1e6)
        p50, p99 = percentiles(samples)
        p50s.append(p50)
        p99s.append(p99)
    return statistics.median(p50s), statistics.median(p99s)


def per_op(func: Callable[[], Any], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - t) / n * 1e6


def call_variants(url: str, db: Database, n: int) -> list[tuple[str, float, float]]:
    bare = requests.Session()
    bare_noenv = requests.Session()
    bare_noenv.trust_env = False
    policy = OutboundPolicy(retries=2)
    plain = OutboundHTTP("metz/t", policy=policy)
    writer = JournalWriter(db)
    full = OutboundHTTP("metz/t", policy=policy, journal=writer,
                        breaker=CircuitBreaker("metz/t", listener=lambda *a: None))
    sync = OutboundHTTP("metz/t", policy=policy, breaker=CircuitBreaker("metz/t"))

    def sync_call() -> None:
        t = time.perf_counter()
        r = sync.request("GET", url)
        journal.record(db, direction="out", instance="metz", profile="t", method="GET", url=url,
                       status=r.status_code, duration_ms=(time.perf_counter() - t) * 1000)

    rows = [
        ("bare requests.Session (trust_env on)", *measure(lambda: bare.get(url, timeout=(5, 30)), n)),
        ("bare requests.Session, trust_env=False", *measure(lambda: bare_noenv.get(url, timeout=(5, 30)), n)),
        ("OutboundHTTP: timeouts + tenacity retry policy", *measure(lambda: plain.request("GET", url), n)),
        ("OutboundHTTP: + breaker + batched journal", *measure(lambda: full.request("GET", url), n)),
        ("OutboundHTTP: + breaker + synchronous journal insert", *measure(sync_call, n)),
    ]
    for c in (plain, full, sync):
        c.close()
    bare.close()
    bare_noenv.close()
    writer.close()
    return rows


class StubAdapter(requests.adapters.BaseAdapter):
    """Answers at once, in process: isolates the client-side cost from the network's."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content = 200, BODY
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        pass


def stub_variants(db: Database, n: int) -> list[tuple[str, float]]:
    url = "http://stub.invalid/api?apikey=k"
    bare = requests.Session()
    bare.trust_env = False
    bare.mount("http://", StubAdapter())
    policy = OutboundPolicy(retries=2)
    writer = JournalWriter(db)
    plain = OutboundHTTP("metz/t", policy=policy)
    full = OutboundHTTP("metz/t", policy=policy, journal=writer,
                        breaker=CircuitBreaker("metz/t", listener=lambda *a: None))
    for c in (plain, full):
        c.session.mount("http://", StubAdapter())
    rows = [("stub transport: bare Session.get", per_op(lambda: bare.get(url, timeout=(5, 30)), n)),
            ("stub transport: OutboundHTTP, retry policy only", per_op(lambda: plain.request("GET", url), n)),
            ("stub transport: OutboundHTTP + breaker + batched journal",
             per_op(lambda: full.request("GET", url), n))]
    writer.close()
    return rows


def _before_after_clients(stub: bool) -> tuple[OutboundHTTP, OutboundHTTP]:
    from framework.outbound.redirects import GuardedSession

    policy = OutboundPolicy(retries=2)
    after = OutboundHTTP("metz/t", policy=policy)
    before = OutboundHTTP("metz/t", policy=policy)
    session = after.session  # built the usual way, then the same settings on requests' own path
    old = GuardedSession()
    old.trust_env, old.proxies, old.verify = False, session.proxies, session.verify
    old.headers["User-Agent"] = session.headers["User-Agent"]
    for prefix, adapter in session.adapters.items():
        old.mount(prefix, adapter)
    before._session = old
    if stub:
        for c in (before, after):
            c.session.mount("http://", StubAdapter())
    return before, after


PARAMS = {"q": "rue de la paix", "limit": "10"}


def before_after(url: str, n: int, rounds: int = 5) -> list[tuple[str, float, float]]:
    """Interleaved rounds: requests' Session.request (before) and the lean path (after)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for label, stub, target, count in (("stub transport", True, "http://stub.invalid/api?apikey=k", n * 5),
                                       ("local server", False, url, n)):
        before, after = _before_after_clients(stub)
        for _ in range(rounds):
            for name, client in (("before: requests' Session.request", before),
                                 ("after: lean BindingSession", after)):
                p50, p99 = measure(lambda c=client, t=target: c.request("GET", t, params=PARAMS),  # type: ignore[misc]
                                   count, rounds=1)
                rows.setdefault(f"{label}, {name}", []).append((p50, p99))
        before.close()
        after.close()
    return [(name, statistics.median(p for p, _ in vals), statistics.median(q for _, q in vals))
            for name, vals in rows.items()]


def _serve_forever(port_queue: Any) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def transport_clients(port: int) -> dict[str, Callable[[], Any]]:
    """The variants of the lean-transport comparison, by label (one GET each)."""
    from framework.outbound.transport import LeanAdapter

    url = f"http://127.0.0.1:{port}/api"
    query = "/api?q=rue+de+la+paix&limit=10"
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def raw() -> None:
        conn.request("GET", query)
        conn.getresponse().read()

    import urllib3

    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=4)

    def pooled() -> None:
        answer = pool.urlopen("GET", query, preload_content=False, retries=False, redirect=False)
        answer.read()
        answer.release_conn()

    bare = requests.Session()
    bare.trust_env = False
    policy = OutboundPolicy(retries=2)
    before = OutboundHTTP("metz/t", policy=policy)
    urllib3_adapter = before.session.get_adapter(url)
    assert isinstance(urllib3_adapter, LeanAdapter)
    urllib3_adapter.direct = False  # requests' HTTPAdapter.send over the lean urllib3 pools
    shipped = OutboundHTTP("metz/t", policy=policy)
    assert isinstance(shipped.session.get_adapter(url), LeanAdapter)
    return {
        "http.client, one kept-alive connection (floor)": raw,
        "urllib3 HTTPConnectionPool.urlopen (floor)": pooled,
        "bare requests.Session.get, trust_env=False": lambda: bare.get(url, params=PARAMS, timeout=(5, 30)),
        "before: OutboundHTTP over the lean urllib3 transport (requests' HTTPAdapter.send, commit 9f7d09b)":
            lambda: before.request("GET", url, params=PARAMS),
        "after: OutboundHTTP over the direct transport (http.client pools, shipped)":
            lambda: shipped.request("GET", url, params=PARAMS),
    }


def transport_round(clients: dict[str, Callable[[], Any]], n: int, batch: int = 20) -> dict[str, tuple[float, float]]:
    """One round: per variant, (p50 wall µs, median CPU µs per call of the calling
    thread). The variants take turns every ``batch`` calls, so that each sees the same
    load from the machine's other processes."""
    for call in clients.values():
        for _ in range(50):
            call()
    walls: dict[str, list[float]] = {name: [] for name in clients}
    cpus: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(max(1, n // batch)):
        for name, call in clients.items():
            cpu = time.thread_time()
            for _ in range(batch):
                t = time.perf_counter()
                call()
                walls[name].append((time.perf_counter() - t) * 1e6)
            cpus[name].append((time.thread_time() - cpu) / batch * 1e6)
    return {name: (percentiles(walls[name])[0], statistics.median(cpus[name])) for name in clients}


def transport_child(port: int, n: int, rounds: int) -> None:
    """--child: rounds of the comparison under this interpreter, as JSON lines (one per
    round, each printed when the parent asks by writing a line on stdin)."""
    clients = transport_clients(port)
    for _ in range(rounds):
        if not sys.stdin.readline():
            return
        print(json.dumps(transport_round(clients, n)), flush=True)


def transport_comparison(n: int, rounds: int, other: str | None) -> tuple[list[tuple[str, float, float]], str]:
    """Rounds of every variant, each interpreter's (this one's, and the other's if
    given) in a child process of its own, the children taking turns round by round:
    the same treatment for both (a child measured ~20 % slower than its parent here)."""
    ctx = multiprocessing.get_context("fork")
    ports = ctx.Queue()
    server = ctx.Process(target=_serve_forever, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    pythons = [sys.executable] + ([other] if other else [])
    versions = [subprocess.run([py, "-c", "import requests; print(requests.__version__)"], capture_output=True,
                               text=True, check=True).stdout.strip() for py in pythons]
    children = [subprocess.Popen([py, __file__, "--child", str(port), "--calls", str(n), "--rounds", str(rounds)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}) for py in pythons]
    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for version, child in zip(versions, children, strict=True):
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            for name, figures in json.loads(child.stdout.readline()).items():
                results.setdefault(f"{name} [requests {version}]", []).append(tuple(figures))
    for child in children:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
    server.kill()
    rows = [(name, statistics.median(w for w, _ in vals), statistics.median(c for _, c in vals))
            for name, vals in results.items()]
    return rows, versions[1] if other else ""


def tls_context_cost() -> list[tuple[str, float]]:
    """What requests 2.34 pays per new TLS connection and the lean path once per binding."""
    from urllib3.util.ssl_ import create_urllib3_context

    def certifi_context() -> None:
        create_urllib3_context().load_verify_locations(cafile=requests.adapters.DEFAULT_CA_BUNDLE_PATH)

    return [("SSL context + certifi CA bundle load (requests: every new TLS connection; lean: once)",
             per_op(certifi_context, 30)),
            ("ssl.create_default_context() alone", per_op(ssl.create_default_context, 30))]


def protocol_costs() -> list[tuple[str, float]]:
    from collections.abc import Mapping

    from requests._types import SupportsItems
    from requests.utils import to_key_val_list

    headers = {"X-API-Key": "k"}
    return [("isinstance(dict, collections.abc.Mapping)", per_op(lambda: isinstance(headers, Mapping), 100000)),
            ("isinstance(dict, requests._types.SupportsItems) (runtime-checkable Protocol)",
             per_op(lambda: isinstance(headers, SupportsItems), 100000)),
            ("requests.utils.to_key_val_list(dict) (7 calls per requests.Session.request)",
             per_op(lambda: to_key_val_list(headers), 100000))]


def build_cost(db: Database) -> float:
    from framework.outbound.runtime import OutboundRuntime

    class FakeBinding:
        id = "metz/t"

        @staticmethod
        def secret_values() -> tuple[str, ...]:
            return ()

        class instance:
            name = "metz"

        class profile:
            name = "t"

    rt = OutboundRuntime(db)
    values = {"connect_timeout": 5.0, "read_timeout": 30.0, "retries": 2}
    cost = per_op(lambda: rt.client(FakeBinding, values), 2000)  # type: ignore[arg-type]
    rt.close()
    return cost


def journal_costs(db: Database, label: str) -> list[tuple[str, float]]:
    writer = JournalWriter(db, interval=3600, batch=10**9)  # flushed only below
    row = {"instance": "metz", "profile": "t", "method": "GET", "url": "https://x/api?apikey=k",
           "status": 200, "duration_ms": 1.0}
    sync = per_op(lambda: journal.record(db, direction="out", **row), 300)
    queued = per_op(lambda: writer.record(**row), 5000)
    t = time.perf_counter()
    written = writer.flush()
    flush = (time.perf_counter() - t) / max(written, 1) * 1e6
    writer.close()
    return [(f"{label}: synchronous journal.record()", sync),
            (f"{label}: JournalWriter.record() (enqueue, on the call's thread)", queued),
            (f"{label}: JournalWriter batch flush, per row (background thread)", flush)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--pg", help="also measure journal writes on this PostgreSQL URL")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the lean-transport comparison")
    parser.add_argument("--compare-python", help="also run the lean-transport comparison under this "
                        "interpreter (e.g. a venv with another requests), interleaved")
    parser.add_argument("--transport-only", action="store_true",
                        help="print the lean-transport comparison only (writes nothing)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        transport_child(args.child, args.calls, args.rounds)
        return
    transport, other_version = transport_comparison(args.calls, args.rounds, args.compare_python)
    tls = tls_context_cost()
    if args.transport_only:
        for name, p50, cpu in transport + [(name, cost, 0.0) for name, cost in tls]:
            print(f"{p50:8.0f} {cpu:6.0f}  {name}")
        return
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/api"
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.sqlite3")
        calls = call_variants(url, db, args.calls)
        build = build_cost(db)
        stubs = stub_variants(db, 20000)
        lean = before_after(url, args.calls)
        protocols = protocol_costs()
        writes = journal_costs(db, "SQLite")
        db.dispose()
    if args.pg:
        pg = open_database(args.pg)
        writes += journal_costs(pg, "PostgreSQL")
        pg.dispose()
    httpd.shutdown()
    httpd.server_close()

    base = calls[1][1]
    lines = ["# Outbound call policy: overhead per call", "",
             f"{args.calls} sequential GETs per variant against a keep-alive JSON server on "
             "127.0.0.1 (threaded http.server), 3 rounds, median of the rounds. 2 shared cores: "
             "compare ratios within one run.", "",
             "| variant | p50 µs | p99 µs | added p50 over bare trust_env=False |", "|---|---|---|---|"]
    lines += [f"| {name} | {p50:.0f} | {p99:.0f} | {p50 - base:+.0f} |" for name, p50, p99 in calls]
    lines += ["", "| operation | µs |", "|---|---|",
              f"| build one binding's client (policy, breaker, lazy session) | {build:.1f} |"]
    lines += [f"| {name} | {cost:.1f} |" for name, cost in stubs]
    lines += [f"| {name} | {cost:.1f} |" for name, cost in writes]
    lines += ["", "## Lean request path: before / after, side by side", "",
              "The same OutboundHTTP (deadline, cap, redirect rules, retry policy) over requests' own "
              "`Session.request` (before) and over `BindingSession` (after), GET with two query "
              "parameters, both over the binding's LeanAdapter (so \"after\" also has the lean "
              "Session.send); 5 interleaved rounds (before, after, before, …), median of the rounds.", "",
              "| variant | p50 µs | p99 µs |", "|---|---|---|"]
    lines += [f"| {name} | {p50:.1f} | {p99:.1f} |" for name, p50, p99 in lean]
    for label in ("stub transport", "local server"):
        b = next(p for name, p, _ in lean if name.startswith(label) and "before" in name)
        a = next(p for name, p, _ in lean if name.startswith(label) and "after" in name)
        lines.append(f"| {label}: after / before (p50) | {a / b:.2f}× | |")
    lines += ["", "## Transport: lean urllib3 (before) / direct http.client (after), side by side", "",
              f"GET with two query parameters against a keep-alive JSON server in its own process, "
              f"{args.calls} sequential calls per variant and round, the variants taking turns every 20 "
              f"calls; {args.rounds} rounds, median of the rounds. CPU: the calling thread's CPU "
              "time per call (`time.thread_time`, median of the 20-call batches), which the other "
              "processes on the machine inflate less than wall time."
              " Each interpreter measures in a child process of its own"
              + (f"; requests {other_version} under another venv, its rounds interleaved with these"
                 if other_version else "") + ".", "",
              "| variant | p50 µs (wall) | CPU µs per call |", "|---|---|---|"]
    lines += [f"| {name} | {p50:.0f} | {cpu:.0f} |" for name, p50, cpu in transport]
    lines += ["", "| ratio (same run) | wall p50 | CPU |", "|---|---|---|"]
    ours = f"[requests {requests.__version__}]"

    def row(label: str, version: str = ours) -> tuple[float, float]:
        return next((w, c) for name, w, c in transport if name.startswith(label) and name.endswith(version))

    after, before = row("after:"), row("before:")
    bare, floor, raw = row("bare requests"), row("urllib3"), row("http.client")
    lines += [f"| after / before | {after[0] / before[0]:.2f}× | {after[1] / before[1]:.2f}× |",
              f"| after / bare requests.Session.get | {after[0] / bare[0]:.2f}× | {after[1] / bare[1]:.2f}× |",
              f"| after / urllib3 urlopen | {after[0] / floor[0]:.2f}× | {after[1] / floor[1]:.2f}× |",
              f"| after / http.client | {after[0] / raw[0]:.2f}× | {after[1] / raw[1]:.2f}× |"]
    if other_version:
        theirs = f"[requests {other_version}]"
        o_after, o_before, o_floor = row("after:", theirs), row("before:", theirs), row("urllib3", theirs)
        lines += [f"| requests {other_version}: after / before | {o_after[0] / o_before[0]:.2f}× | "
                  f"{o_after[1] / o_before[1]:.2f}× |",
                  f"| requests {other_version}: after / urllib3 urlopen | {o_after[0] / o_floor[0]:.2f}× | "
                  f"{o_after[1] / o_floor[1]:.2f}× |",
                  f"| after, requests {other_version} / after, requests {requests.__version__} | "
                  f"{o_after[0] / after[0]:.2f}× | {o_after[1] / after[1]:.2f}× |"]
    lines += ["", "| TLS setup | µs |", "|---|---|"]
    lines += [f"| {name} | {cost:.0f} |" for name, cost in tls]
    lines += ["", "| requests 2.34 check | µs |", "|---|---|"]
    lines += [f"| {name} | {cost:.2f} |" for name, cost in protocols]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "docs" / "benchmarks" / "outbound_overhead.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
