"""Benchmark: start-up and scale of the command line and of ``raccord serve``.

Every figure is a fresh process (imports count), in interleaved rounds; the table
shows medians over the rounds. Within a round each millisecond figure is the best of
``--best-of`` runs (5): on 2 shared cores a single short run mostly measures the
neighbours. Measured per round:

- ``raccord --help`` and ``raccord check -q`` on the example (``instances.toml``), ms:
  ``check`` twice, with an empty verification memo (cold: jsonschema and APScheduler
  imported and run, their verdicts recorded) then with the memo that run left (warm:
  what every later ``check`` of an unchanged environment costs; framework/memo.py);
- ``raccord check -q`` on a generated territory (``--instances``, 5 profiles each),
  memo warm, s;
- ``raccord serve`` (2 gateway workers) on that territory: seconds from the spawn to
  ``/healthz`` answering, then the memory of the master and its 2 gateway workers
  (``/proc/<pid>/smaps_rollup``): their total PSS against one process's RSS (the
  master's: one copy of the loaded territory). Unshared, the ratio would be ≈ 3.

The interpreter is that of an installed raccord (``--editable`` for the developer's
venv as it is): a venv whose only ``.pth`` puts this venv's site-packages on the path,
so the dependencies are the same but setuptools' editable-install finder (25–30 ms of
every start-up, a development artefact) does not run; the code comes from PYTHONPATH.
Bytecode as installed: the checkouts are compiled first and PYTHONDONTWRITEBYTECODE
(set on the developers' machines) is dropped from the children's environment, and one
untimed warm-up round runs before the timed ones (bytecode of anything not compiled
yet, the page cache).

``--baseline DIR`` runs the same rounds with another checkout's code first on
``PYTHONPATH`` (e.g. ``git archive main | tar -x -C /tmp/base``), interleaved with
this one, so that before and after are measured side by side on the same load.
Writes docs/benchmarks/startup.md.

    .venv/bin/python bench/startup.py [--instances 5000] [--rounds 3] [--best-of 5] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from check_territory import territory, write_data  # noqa: E402

#: the command line as a fresh interpreter runs it, whichever checkout is on the path
ENTRY = "import sys; from framework.cli import main; sys.argv[0] = 'raccord'; main()"
TARGETS = {"help_ms": 80, "check_example_warm_ms": 150, "check_big_s": 2.0, "pss_ratio": 1.5}


def env_for(code: Path | None, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACCORD_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["RACCORD_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env["PYTHONPATH"] = str(code or ROOT)  # this checkout's code, whatever is installed
    env["RACCORD_CACHE_DIR"] = str(memo_dir(code, tmp))  # one memo per checkout, never the user's
    return env


def memo_dir(code: Path | None, tmp: Path) -> Path:
    return tmp / ("memo-" + hashlib.sha256(str(code or ROOT).encode()).hexdigest()[:12])


PYTHON = sys.executable


def installed_python(tmp: Path) -> str:
    """A venv seeing this venv's packages through one .pth line: an installed raccord's
    start-up, without the editable finder's (the .pth files of a path added that way
    are not processed)."""
    import sysconfig
    import venv

    target = tmp / "venv"
    venv.create(target, with_pip=False)
    own = Path(sysconfig.get_paths(vars={"base": str(target)})["purelib"])
    own.mkdir(parents=True, exist_ok=True)
    (own / "raccord-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return str(target / "bin" / "python")


def compiled(code: Path) -> None:
    """Bytecode for a checkout, as an installed package has it: with PYTHONDONTWRITEBYTECODE
    set (it is on the developers' machines), every run would compile every module again."""
    for folder in ("framework", "connectors", "contrib"):
        compileall.compile_dir(str(code / folder), quiet=1)


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a fresh ``raccord`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-c", ENTRY, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def smaps(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/smaps_rollup (Rss, Pss, Private_Dirty…)."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        out[key] = int(value.split()[0])
    return out


def gateway_workers(master: int) -> list[int]:
    pids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in pids.split()
            if b"background_main" not in Path(f"/proc/{p}/cmdline").read_bytes()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_round(config: Path, env: dict[str, str], workers: int = 2) -> tuple[float, dict[str, float]]:
    """Seconds to /healthz, then the memory of the master and its gateway workers."""
    port = free_port()
    log = config.parent / "serve.log"
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([PYTHON, "-c", ENTRY, "--config", str(config), "serve", "--port", str(port),
                                 "--workers", str(workers)], env=env, cwd=config.parent, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            ready = _wait_healthz(proc, port, start, log)
            _wait_workers(proc.pid, workers)
            time.sleep(1.0)  # let the workers settle (imports done, first requests answered)
            for _ in range(20):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            master = smaps(proc.pid)
            procs = [master] + [smaps(p) for p in gateway_workers(proc.pid)]
            pss = sum(p["Pss"] for p in procs)
            memory = {"master_rss_mib": master["Rss"] / 1024, "total_pss_mib": pss / 1024,
                      "pss_ratio": pss / master["Rss"]}
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return ready, memory


def _wait_healthz(proc: subprocess.Popen[bytes], port: int, start: float, log: Path) -> float:
    deadline = start + 180
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("serve never answered /healthz")


def _wait_workers(master: int, workers: int) -> None:
    deadline = time.monotonic() + 120
    while len(gateway_workers(master)) < workers and time.monotonic() < deadline:
        time.sleep(0.1)


def one_round(code: Path | None, big: Path, tmp: Path, best_of: int = 5) -> dict[str, float]:
    env = env_for(code, tmp)
    example = (code or ROOT) / "instances.toml"
    figures: dict[str, float] = {}
    check_example = ["--config", str(example), "check", "-q"]
    for key, args, repeat in (("help", ["--help"], best_of),
                              ("check_example_cold", check_example, best_of),
                              ("check_example_warm", check_example, best_of),
                              ("check_big", ["--config", str(big), "check", "-q"], 1)):
        runs = []
        for _ in range(repeat):
            if key.endswith("_cold"):
                shutil.rmtree(memo_dir(code, tmp), ignore_errors=True)  # nothing remembered
            runs.append(timed(args, env, tmp))
        wall, cpu = min(runs)  # the run least disturbed by the other load (timeit's rule)
        unit, scale = ("ms", 1000) if repeat > 1 else ("s", 1)
        figures[f"{key}_{unit}"], figures[f"{key}_cpu_{unit}"] = wall * scale, cpu * scale
    figures["serve_ready_s"], memory = serve_round(big, env)
    figures.update(memory)
    return figures


ROWS = [("help_ms", "`raccord --help`", "{:.0f} ms"),
        ("help_cpu_ms", "  CPU (user + system)", "{:.0f} ms"),
        ("check_example_cold_ms", "`raccord check` on the example, memo cold", "{:.0f} ms"),
        ("check_example_cold_cpu_ms", "  CPU (user + system)", "{:.0f} ms"),
        ("check_example_warm_ms", "`raccord check` on the example, memo warm", "{:.0f} ms"),
        ("check_example_warm_cpu_ms", "  CPU (user + system)", "{:.0f} ms"),
        ("check_big_s", "`raccord check`, {n} instances (memo warm)", "{:.2f} s"),
        ("check_big_cpu_s", "  CPU (user + system)", "{:.2f} s"),
        ("serve_ready_s", "`raccord serve` → /healthz, {n} instances", "{:.2f} s"),
        ("ready_minus_check_s", "serve ready − check", "{:+.2f} s"),
        ("master_rss_mib", "master RSS (one copy)", "{:.0f} MiB"),
        ("total_pss_mib", "PSS master + 2 workers", "{:.0f} MiB"),
        ("pss_ratio", "PSS master + 2 workers / one copy", "{:.2f}×")]


def verdicts(m: dict[str, float]) -> list[str]:
    out = [f"{key} ≤ {limit}: {'meets' if m[key] <= limit else 'MISSES'}" for key, limit in TARGETS.items()]
    out.append(f"serve ready ≤ check + 1 s: {'meets' if m['ready_minus_check_s'] <= 1 else 'MISSES'}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--best-of", type=int, default=5,
                        help="runs per round of each millisecond figure (help, check on the example), best kept")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side (before)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--editable", action="store_true",
                        help="run this venv's interpreter as it is (with the editable-install finder)")
    args = parser.parse_args()
    global PYTHON
    variants: dict[str, Path | None] = {"this tree": None}
    if args.baseline:
        variants = {"baseline": args.baseline.resolve(), **variants}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for code in variants.values():
        compiled(code or ROOT)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.editable:
            PYTHON = installed_python(tmp)
        big = tmp / "instances.toml"
        big.write_text(territory(args.instances), encoding="utf-8")
        write_data(tmp)
        for name in variants:  # warm-up, not counted: bytecode, page cache
            one_round(variants[name], big, tmp, 1)
        for n in range(args.rounds):
            order = list(variants) if n % 2 == 0 else list(reversed(variants))  # rotate: no order bias
            for name in order:
                figures = one_round(variants[name], big, tmp, args.best_of)
                figures["ready_minus_check_s"] = figures["serve_ready_s"] - figures["check_big_s"]
                results[name].append(figures)
                print(f"round {n + 1} {name}: " + ", ".join(f"{k}={v:.3g}" for k, v in figures.items()), flush=True)
    medians = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in results.items()}
    head = "| measure | " + " | ".join(medians) + " |\n|---|" + "---|" * len(medians) + "\n"
    body = "".join(f"| {label.format(n=args.instances)} | "
                   + " | ".join(fmt.format(m[key]) for m in medians.values()) + " |\n" for key, label, fmt in ROWS)
    table = head + body
    checks = "\n".join(f"- {line}" for line in verdicts(medians["this tree"]))
    print(table + "\n" + checks)
    if args.no_write:
        return
    out = ROOT / "docs" / "benchmarks" / "startup.md"
    # The hand-written reading of the figures (from "## Notes" on) survives a new run.
    notes = out.read_text(encoding="utf-8").partition("\n## Notes")[1:] if out.exists() else ("", "")
    out.write_text(
        "# Start-up and scale: the command line and `raccord serve`\n\n"
        f"`.venv/bin/python bench/startup.py --instances {args.instances} --rounds {args.rounds} "
        f"--best-of {args.best_of}"
        + (" --baseline <main before the change>" if args.baseline else "") + (" --editable" if args.editable else "")
        + "` — fresh processes" + ("" if args.editable else " of an installed raccord (no editable-install finder)")
        + ", "
        f"{args.rounds} interleaved rounds (order rotated), medians of the rounds, each millisecond figure "
        f"the best of {args.best_of} runs in its round; 2 shared cores, so compare the "
        "columns of one run, not absolute times across runs. PSS from `/proc/<pid>/smaps_rollup` "
        "after `/healthz` answered and 20 calls; \"one copy\" is the master's RSS.\n\n"
        + table + "\nTargets (issue #14), this tree:\n\n" + checks + "\n" + "".join(notes), encoding="utf-8")


if __name__ == "__main__":
    main()
