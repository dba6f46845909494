"""What the outbound policy costs per call, against bare requests, on 127.0.0.1.

Also the lean request path (framework/outbound/session.py) against requests' own
``Session.request`` under the same OutboundHTTP, interleaved round by round ("before /
after"), with a stub transport and against the local server, and what requests 2.34's
runtime-checkable Protocol checks cost.

Runs: a keep-alive JSON server in a thread; N sequential GETs per variant, 3 rounds,
median of the rounds' p50/p99. Also the cost of building a binding's client and of one
journal row (synchronous insert vs the batched writer). Writes
docs/benchmarks/outbound_overhead.md.

    .venv/bin/python bench/outbound_overhead.py [--calls 2000] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
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
    args = parser.parse_args()
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
              "parameters; 5 interleaved rounds (before, after, before, …), median of the rounds.", "",
              "| variant | p50 µs | p99 µs |", "|---|---|---|"]
    lines += [f"| {name} | {p50:.1f} | {p99:.1f} |" for name, p50, p99 in lean]
    for label in ("stub transport", "local server"):
        b = next(p for name, p, _ in lean if name.startswith(label) and "before" in name)
        a = next(p for name, p, _ in lean if name.startswith(label) and "after" in name)
        lines.append(f"| {label}: after / before (p50) | {a / b:.2f}× | |")
    lines += ["", "| requests 2.34 check | µs |", "|---|---|"]
    lines += [f"| {name} | {cost:.2f} |" for name, cost in protocols]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "docs" / "benchmarks" / "outbound_overhead.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
