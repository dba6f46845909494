"""Benchmark: `raccord check` on a generated territory of 1,000 instances × 5 profiles.

Runs the real command in a fresh process (so imports count) three times and reports
the median wall time and the peak resident memory. Target: under 2 s and 300 MB.

    .venv/bin/python bench/check_territory.py [--instances 1000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {
    "adresse": ("base_adresse", 'limit = 10'),
    "adresse_rues": ("base_adresse", 'limit = 50'),
    "communes": ("csv_datasource", 'path = "communes.csv"\nid_column = "insee"\ntext_column = "name"'),
    "equipements": ("csv_datasource", 'path = "equipements.csv"'),
    "quartiers": ("csv_datasource", 'path = "quartiers.csv"'),
}


def territory(n: int) -> str:
    out = ['[territory]\nname = "Generated"\ntriage = "i0000"\n',
           '[costs]\nday_rate_eur = 800\nsplit = "population"\nfloor_eur = 150\n']
    for name, (connector, settings) in PROFILES.items():
        out.append(f'[profiles.{name}]\nconnector = "{connector}"\ncost = {{ setup_days = 2, yearly_days = 1 }}\n'
                   f'[profiles.{name}.settings]\n{settings}\n')
    for i in range(n):
        host = "" if i % 10 == 0 else f'hosted_by = "i{i - i % 10:04d}"\n'
        out.append(f'[instances.i{i:04d}]\nname = "Instance {i}"\ninsee = ["{10000 + i:05d}"]\n'
                   f'population = {1000 + i}\n{host}profiles = {list(PROFILES)!r}\n'.replace("'", '"'))
        out.append(f'[instances.i{i:04d}.clients.wcs]\n'
                   f'signature = {{ orig = "wcs{i}.example.org", secret = {{ env = "SECRET_{i}" }} }}\n')
        if i % 50 == 1:
            out.append(f'[instances.i{i:04d}.settings.adresse]\nlimit = 20\n'
                       f'[instances.i{i:04d}.overrides.adresse]\nreason = "wider results"\n')
    return "\n".join(out)


def write_data(directory: Path) -> None:
    """The CSV files the generated territory's csv_datasource profiles read (check opens them)."""
    (directory / "communes.csv").write_text("insee,name\n57463,Metz\n57751,Woippy\n", encoding="utf-8")
    for name in ("equipements.csv", "quartiers.csv"):
        (directory / name).write_text("id,text\n1,Piscine\n2,Stade\n", encoding="utf-8")


def run_check(config: Path) -> tuple[float, float]:
    exe = Path(sys.executable).parent / "raccord"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([str(exe), "--config", str(config), "check", "-q"], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"check failed:\n{done.stdout}{done.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak_kib, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "instances.toml"
        config.write_text(territory(args.instances), encoding="utf-8")
        write_data(Path(tmp))
        size = config.stat().st_size
        runs = [run_check(config) for _ in range(args.rounds)]
    times = [t for t, _ in runs]
    peak = max(m for _, m in runs)
    table = (f"| instances | profiles | bindings | file size | median wall time | peak RSS |\n"
             f"|---|---|---|---|---|---|\n"
             f"| {args.instances} | {len(PROFILES)} | {args.instances * len(PROFILES)} | {size / 1024:.0f} KiB | "
             f"{statistics.median(times):.2f} s | {peak:.0f} MiB |\n")
    print(table)
    verdict = "meets" if statistics.median(times) < 2 and peak < 300 else "MISSES"
    print(f"target (< 2 s, < 300 MB): {verdict}")
    out = ROOT / "docs" / "benchmarks" / "check.md"
    out.write_text("# `raccord check` on a generated territory\n\n"
                   "`.venv/bin/python bench/check_territory.py` — a fresh `raccord check -q` process per round "
                   f"(imports included), median of {args.rounds} rounds; peak RSS of the child process.\n\n"
                   + table + f"\nTarget: under 2 s and 300 MB — {verdict}.\n", encoding="utf-8")


if __name__ == "__main__":
    main()
