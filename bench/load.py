"""A bounded load test: `raccord serve` on the example territory (2 gunicorn workers × 4
threads, SQLite), 20 concurrent clients for 60 s over three instances (metz, marly,
metropole), each cycling over open data sources, the BAN (a local server in a process
of its own) and signed calls. Writes docs/benchmarks/load.md.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 20]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from tests.adversarial.load import MIX, run, served_example, table  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "load.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raccord-load-") as tmp, served_example(Path(tmp)) as served:
        result = run(served, seconds=args.seconds, clients=args.clients)
    mix = "\n".join(f"- {inst}: " + ", ".join(f"`{path}`" + (f" (signed by {who})" if who else " (anonymous)")
                                               for _, path, who in calls) for inst, calls in MIX.items())
    errors = {i: dict(c) for i, c in result.errors.items()}
    text = f"""# Load: 20 concurrent clients over three instances

Measured {dt.date.today().isoformat()} by `bench/load.py` on a shared {os.cpu_count()}-core machine (other work
running: compare rows of one run, not runs). The load generator runs on the same machine.

`raccord serve --workers 2 --threads 4` on the example territory (instances.toml), SQLite, the BAN a local
server in its own process; {args.clients} clients for {args.seconds:.0f} s, each cycling over every call below
(signed calls: a fresh Publik signature and nonce each time). An error is a transport failure, a status other
than 200, or an answer whose `err` is not 0.

{table(result)}

Errors: {errors or "none"}.

The calls:

{mix}

Before the bulkhead let a burst of fast calls wait (commit cfa6822), the 10 s variant of this load saw 3 to 5
calls per run refused with a 503 `raccord.unavailable` ("busy: 2 call(s) already wait for its business server")
on the fast local BAN and on `courriel/preview`, whose templates were compiled on every call (~35 ms; now kept).

The short variant runs in CI: `tests/adversarial/test_load.py` (10 s, asserts no error, no 5xx and that every
instance answered; no latency asserted).
"""
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
