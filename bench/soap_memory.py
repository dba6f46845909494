"""Memory and start-up time of N instances bound to payfip (1, 10, 100).

Each measure runs in a fresh subprocess: it writes a territory of N instances bound
to the payfip connector, opens it (`Raccord.open`), builds every binding and opens
its SOAP service (WSDL parse — shared — plus a light client and service proxy per
binding). No call is made. Reported, median of 3 rounds:

- start-up: wall time of the whole subprocess work, imports included;
- bind: time to build the N bindings and open their services;
- traced peak: tracemalloc's peak over open + bind (Python allocations);
- RSS: the subprocess's maximum resident set size.

"separate parses" repeats the measure with the WSDL cache emptied after every
binding: what 100 communes would cost without sharing.

Run: .venv/bin/python bench/soap_memory.py  → prints the table, writes docs/benchmarks/soap.md
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTS = (1, 10, 100)
ROUNDS = 3

CHILD = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc
    started = time.perf_counter()
    sys.path.insert(0, {root!r})
    from framework.app import Raccord
    from framework.soap import cache
    import framework.soap.service  # zeep: imports are measured in start-up, not in the peak
    count, share, config, db = int(sys.argv[1]), sys.argv[2] == "share", sys.argv[3], sys.argv[4]
    tracemalloc.start()
    r = Raccord.open(config, database_url=db)
    bind_started = time.perf_counter()
    parses = 0
    for i in range(count):
        assert r.bound(f"c{{i}}", "paiement").connector.service.operations
        if not share:
            parses += cache.stats.parses
            cache.clear()
    bind = time.perf_counter() - bind_started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = time.perf_counter() - started
    r.close()
    print(json.dumps({{"startup": total, "bind": bind, "peak": peak,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "parses": parses + cache.stats.parses}}))
""")


def territory(count: int) -> str:
    lines = ['[territory]\nname = "Bench"\n\n[profiles.paiement]\nconnector = "payfip"\n',
             '[profiles.paiement.settings]\nservice_url = "https://127.0.0.1:9/tpa/services/securite"\n']
    for i in range(count):
        lines.append(f'[instances.c{i}]\nname = "Commune {i}"\nprofiles = ["paiement"]\n'
                     f'[instances.c{i}.settings.paiement]\nnumcli = "{i:06d}"\n'
                     f'url_notification = "https://c{i}.example/n"\nurl_redirect = "https://c{i}.example/r"\n')
    return "\n".join(lines)


def measure(count: int, share: bool, work: Path) -> dict[str, float]:
    config = work / f"t{count}.toml"
    config.write_text(territory(count), encoding="utf-8")
    script = work / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
    runs = []
    for round_ in range(ROUNDS):
        db = f"sqlite:///{work / f'db{count}{share}{round_}.sqlite3'}"
        out = subprocess.run([sys.executable, str(script), str(count), "share" if share else "separate",
                              str(config), db], capture_output=True, text=True, check=True, cwd=work)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for share in (True, False):
            for count in COUNTS:
                result = measure(count, share, Path(tmp))
                rows.append((count, share, result))
                print(f"{count:>4} {'shared' if share else 'separate':>8}: {result}", file=sys.stderr)
    base = next(r for c, s, r in rows if c == 1 and s)
    header = ("| instances | WSDL | parses | start-up (s) | bind (ms) | traced peak (MiB) | "
              "× one instance | RSS (MiB) | × one instance |")
    table = [header, "|---|---|---|---|---|---|---|---|---|"]
    for count, share, r in rows:
        table.append(
            f"| {count} | {'shared' if share else 'separate parses'} | {int(r['parses'])} | "
            f"{r['startup']:.2f} | {r['bind'] * 1000:.0f} | {r['peak'] / 2**20:.2f} | "
            f"{r['peak'] / base['peak']:.2f} | {r['rss'] / 2**20:.1f} | {r['rss'] / base['rss']:.2f} |")
    hundred = next(r for c, s, r in rows if c == 100 and s)
    verdict = ("met" if hundred["rss"] < 2 * base["rss"] and hundred["peak"] < 2 * base["peak"]
               else "NOT met")
    text = "\n".join(table)
    print(text)
    print(f"target (100 instances < 2 × one instance, RSS and traced peak): {verdict}")
    doc = ROOT / "docs" / "benchmarks" / "soap.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(
        "# SOAP: memory and start-up with N instances bound to payfip\n\n"
        "`.venv/bin/python bench/soap_memory.py` — each line a fresh subprocess, median of "
        f"{ROUNDS} rounds, on the 2-core development machine (shared with other work: compare "
        "ratios within one run). The subprocess opens the territory, builds every binding and "
        "opens its SOAP service; no call is made. *traced peak* is tracemalloc's peak over "
        "open + bind (imports excluded); *RSS* is the whole process's maximum resident size "
        "(Python, zeep, SQLAlchemy… included). *separate parses* empties the WSDL cache after "
        "each binding: what the same territory costs without sharing.\n\n"
        f"{text}\n\nTarget — 100 instances cost less than twice one instance: **{verdict}**.\n",
        encoding="utf-8")


if __name__ == "__main__":
    main()
