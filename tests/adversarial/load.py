"""A bounded load against ``raccord serve`` on the example territory: ``clients``
concurrent callers, each looping over a mix of open and signed calls on three instances
for ``seconds``; the business server (the BAN) is local, in a process of its own so that
it does not share the generator's GIL. Used by bench/load.py (60 s, recorded in
docs/benchmarks/load.md) and tests/adversarial/test_load.py (a short run in CI)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.adversarial.serving import Served, example_env, local_example
from tests.conftest import ROOT
from tests.framework.gateway import example as ex

INSTANCES = ("metz", "marly", "metropole")
#: per instance: (label, path and query, signing client or None); open data sources, the
#: BAN through the local server, and signed calls of each instance's own w.c.s.
MIX: dict[str, list[tuple[str, str, str | None]]] = {
    "metz": [("open referentiel", "/metz/referentiel/data?q=metz", None),
             ("open adresse", "/metz/adresse/search?q=rue+serpenoise", None),
             ("signed preview", "/metz/courriel/preview?template=status", "metz.wcs"),
             ("signed referentiel", "/metz/referentiel/query?name=vallee_moselle", "metz.wcs")],
    "marly": [("open referentiel", "/marly/referentiel/data?q=mar", None),
              ("open adresse", "/marly/adresse/search?q=rue+serpenoise", None),
              ("signed preview", "/marly/courriel/preview?template=status", "marly.wcs"),
              ("signed inbox", "/marly/demandes/inbox?limit=5", "marly.wcs")],
    "metropole": [("open referentiel", "/metropole/referentiel/data?q=moselle", None),
                  ("open adresse", "/metropole/adresse/search?q=rue+serpenoise", None),
                  ("signed stats", "/metropole/aiguillage/stats", "metropole.wcs"),
                  ("signed triage", "/metropole/aiguillage/triage?limit=5", "metropole.agents")],
}


@dataclass
class Result:
    seconds: float
    clients: int
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # instance → seconds
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # instance → what

    def rows(self) -> list[tuple[str, int, float, float, float, int, int]]:
        """(instance, calls, calls/s, p50 ms, p99 ms, errors, 5xx) per instance, then overall."""
        out = []
        for name in [*INSTANCES, "overall"]:
            times = sorted(t for i, ts in self.times.items() for t in ts if name in (i, "overall"))
            errors = sum(n for i, c in self.errors.items() if name in (i, "overall") for n in c.values())
            fivexx = sum(n for i, c in self.statuses.items() if name in (i, "overall")
                         for s, n in c.items() if s >= 500)
            out.append((name, len(times), len(times) / self.seconds, _pct(times, 50) * 1000,
                        _pct(times, 99) * 1000, errors, fivexx))
        return out


def _pct(sorted_times: list[float], p: float) -> float:
    if not sorted_times:
        return float("nan")
    if len(sorted_times) == 1:
        return sorted_times[0]
    return statistics.quantiles(sorted_times, n=100, method="inclusive")[int(p) - 1]


@contextmanager
def upstream_process() -> Iterator[str]:
    """tests/adversarial/upstream.py in a process of its own; yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.adversarial.upstream"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


@contextmanager
def served_example(folder: Path, *, workers: int = 2, threads: int = 4) -> Iterator[Served]:
    with upstream_process() as url:
        served = Served(local_example(folder, url), example_env(folder), workdir=folder, workers=workers,
                        threads=threads)
        try:
            yield served
        finally:
            served.stop()


def run(served: Served, *, seconds: float, clients: int) -> Result:
    """``clients`` threads, each cycling over the instances' mixes until ``seconds`` pass."""
    result = Result(seconds, clients)
    lock = threading.Lock()
    calls = [(inst, label, path, who) for inst in INSTANCES for label, path, who in MIX[inst]]
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        session = requests.Session()
        session.trust_env = False
        i = n  # each client starts elsewhere in the mix
        while time.monotonic() < deadline:
            inst, label, path, who = calls[i % len(calls)]
            i += 1
            base, _, query = path.partition("?")
            headers: dict[str, str] = {}
            if who is not None:
                query, headers = ex.credentials(who, query)
            started = time.perf_counter()
            try:
                response = session.get(f"{served.url}{base}?{query}", headers=headers, timeout=30)
                status, error = response.status_code, ""
                if status != 200 or response.json().get("err") != 0:
                    error = f"{label}: {status} {response.text[:120]}"
            except (requests.RequestException, ValueError) as exc:
                status, error = 0, f"{label}: {type(exc).__name__}"
            elapsed = time.perf_counter() - started
            with lock:
                result.times[inst].append(elapsed)
                result.statuses[inst][status] += 1
                if error:
                    result.errors[inst][error] += 1
        session.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return result


def table(result: Result) -> str:
    lines = ["| instance | calls | calls/s | p50 ms | p99 ms | errors | 5xx |", "|---|---|---|---|---|---|---|"]
    for name, calls, rate, p50, p99, errors, fivexx in result.rows():
        shown = f"**{name}**" if name == "overall" else name
        lines.append(f"| {shown} | {calls} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {errors} | {fivexx} |")
    return "\n".join(lines)
