"""What a large CSV referential costs in memory: a 47 MB file, 1 and 2 bindings.

The file is synthetic but shaped like a Base Adresse Nationale export (one address a
line, ``;``-separated: id, number, suffix, street, postcode, INSEE code, commune,
longitude, latitude) over the 46 communes of Metz Métropole, seeded so every run
writes the same bytes. Each measure runs in a fresh subprocess: it opens a territory
whose ``adresses`` profile points every instance at that one file, then calls ``data``
(``q=…``) once per binding, which loads the file. Reported, median of the rounds:

- base RSS: resident size after the imports and ``Raccord.open``, before any load;
- held: resident size after the calls minus base (what the loaded table keeps);
- peak: the process's maximum resident size minus base (the load's transient cost);
- load: wall time of the first call (read, parse, fold);
- q / id: one filtered call on the loaded table (``q=…`` words, ``id=…``).

Run: .venv/bin/python bench/csv_memory.py [--rounds 3] [--mb 47]
→ prints the table, writes docs/benchmarks/csv_memory.md
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks" / "csv_memory.md"
STREETS = ("rue", "avenue", "allée", "chemin", "impasse", "place", "boulevard", "route")
NAMES = ("de la Gare", "des Jardins", "Serpenoise", "du Général de Gaulle", "de Metz", "des Écoles",
         "Saint-Pierre", "de la République", "des Tilleuls", "du Moulin", "de Verdun", "Pasteur",
         "des Vignes", "Jean Jaurès", "de l'Église", "des Roses", "du Château", "Victor Hugo")

HEADER = ("| bindings on the file | base RSS (MiB) | held (MiB) | held ÷ file size | peak (MiB) "
          "| load (s) | q call (ms) | id call (ms) |\n|---|---|---|---|---|---|---|---|")

CHILD = textwrap.dedent("""
    import gc, json, resource, sys, time
    sys.path.insert(0, {root!r})
    from framework.app import Raccord

    def rss():
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmRSS:"))

    config, db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r = Raccord.open(config, database_url=db)
    for i in range(count):
        r.bound(f"c{{i}}", "adresses")
    gc.collect()
    base, base_peak = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    r.invoke("c0", "adresses", "data", params={{"q": "serpenoise", "limit": 5}})
    load = time.perf_counter() - started
    for i in range(1, count):
        r.invoke(f"c{{i}}", "adresses", "data", params={{"q": "serpenoise", "limit": 5}})
    started = time.perf_counter()
    found = r.invoke("c0", "adresses", "data", params={{"q": "chemin moulin"}})
    q = time.perf_counter() - started
    started = time.perf_counter()
    by_id = r.invoke("c0", "adresses", "data", params={{"id": [found[0]["id"]]}})
    by_id_s = time.perf_counter() - started
    assert len(by_id) == 1, by_id
    gc.collect()
    held = rss() - base
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, base_peak) - base
    r.close()
    print(json.dumps({{"base": base, "held": held, "peak": peak, "load": load, "q": q, "id": by_id_s}}))
""")


def write_csv(path: Path, megabytes: float) -> int:
    """A BAN-like address file of about ``megabytes`` MB; returns its row count."""
    communes = [line.split(",") for line in
                (ROOT / "data" / "metz_metropole_communes.csv").read_text(encoding="utf-8").splitlines()[1:]]
    rnd = random.Random(20261202)
    target = int(megabytes * 1_000_000)
    rows, size = 0, 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        header = "id;numero;rep;nom_voie;code_postal;code_insee;nom_commune;lon;lat\n"
        fh.write(header)
        size += len(header.encode())
        while size < target:
            insee, commune = rnd.choice(communes)
            street = f"{rnd.choice(STREETS).capitalize()} {rnd.choice(NAMES)}"
            number = rnd.randint(1, 250)
            rep = rnd.choice(("", "", "", "", "bis", "ter"))
            line = (f"{insee}_{rnd.randint(0, 9999):04d}_{number:05d}{rep and '_' + rep};{number};{rep};"
                    f"{street};{57000 + rnd.randint(0, 19) * 10};{insee};{commune};"
                    f"{6.1 + rnd.random() * 0.2:.6f};{49.05 + rnd.random() * 0.1:.6f}\n")
            fh.write(line)
            size += len(line.encode())
            rows += 1
    return rows


def territory(count: int) -> str:
    lines = ['[territory]\nname = "Bench"\n\n[profiles.adresses]\nconnector = "csv_datasource"\n',
             '[profiles.adresses.settings]\npath = "adresses.csv"\ntext_column = "nom_voie"\n']
    lines += [f'[instances.c{i}]\nname = "Commune {i}"\nprofiles = ["adresses"]\n' for i in range(count)]
    return "\n".join(lines)


def measure(work: Path, count: int, rounds: int) -> dict[str, float]:
    config = work / f"t{count}.toml"
    config.write_text(territory(count), encoding="utf-8")
    script = work / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
    runs = []
    for round_ in range(rounds):
        db = f"sqlite:///{work / f'db{count}-{round_}.sqlite3'}"
        out = subprocess.run([sys.executable, str(script), str(config), db, str(count)],
                             capture_output=True, text=True, cwd=work, timeout=600)
        if out.returncode:
            raise SystemExit(f"the measuring subprocess failed:\n{out.stderr[-2000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=float, default=47.0)
    parser.add_argument("--label", default="", help="a note for the table's caption (e.g. the commit)")
    args = parser.parse_args()
    mib = 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="raccord-csv-bench-") as tmp:
        work = Path(tmp)
        rows = write_csv(work / "adresses.csv", args.mb)
        size = (work / "adresses.csv").stat().st_size
        results = [(count, measure(work, count, args.rounds)) for count in (1, 2)]
    table = [HEADER]
    for count, m in results:
        table.append(f"| {count} | {m['base'] / mib:.0f} | {m['held'] / mib:.0f} | {m['held'] / size:.1f} "
                     f"| {m['peak'] / mib:.0f} | {m['load']:.2f} | {m['q'] * 1000:.0f} | {m['id'] * 1000:.0f} |")
    text = "\n".join(table)
    print(f"{size / 1e6:.1f} MB, {rows:,} rows\n{text}")
    OUT.write_text(_page(size, rows, text, args.rounds, args.label), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


def _page(size: int, rows: int, table: str, rounds: int, label: str) -> str:
    return (f"# CSV referential: memory of a large file\n\n"
            f"`.venv/bin/python bench/csv_memory.py` — a synthetic BAN-like address file of "
            f"{size / 1e6:.1f} MB ({rows:,} rows, 9 columns, `;`-separated), each line a fresh "
            f"subprocess, median of {rounds} rounds, on the 2-core development machine (shared: "
            f"compare within one run). *held* is the resident size the loaded table keeps after "
            f"the calls; *peak* the load's highest resident size over the base. Both bindings "
            f"point at the same file.{' ' + label if label else ''}\n\n{table}\n\n{BEFORE}")


# Measured by this script at commit 724e4c5 (a dictionary per row, one list per binding),
# the same day on the same machine: kept for the comparison.
BEFORE = f"""Before the columnar shared table (commit 724e4c5: one dictionary per row, its
folded text in a dictionary keyed by the row, one copy per binding):

{HEADER}
| 1 | 84 | 680 | 15.2 | 680 | 9.65 | 906 | 143 |
| 2 | 84 | 1223 | 27.3 | 1223 | 9.59 | 994 | 192 |
"""


if __name__ == "__main__":
    main()
