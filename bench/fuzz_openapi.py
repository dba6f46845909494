"""The OpenAPI fuzz of tests/adversarial/test_openapi_fuzz.py with a larger budget:
Hypothesis cases drawn from every instance's OpenAPI document of the example territory,
sent to a running `raccord serve` (2 workers) with local business servers. Writes
docs/benchmarks/fuzz.md (cases, statuses, operations reached; 500s and non-JSON answers).

    .venv/bin/python bench/fuzz_openapi.py [--cases 5000]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.adversarial.openapi_fuzz import Case, Tally, cases  # noqa: E402
from tests.adversarial.serving import Served, example_env, local_example  # noqa: E402
from tests.adversarial.test_openapi_fuzz import CASES, documented  # noqa: E402
from tests.adversarial.upstream import Upstream  # noqa: E402
from tests.framework.gateway import example as ex  # noqa: E402
from tests.framework.gateway.fakes import serve_wsgi  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "fuzz.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local server's line per request
    tally, upstream = Tally(), Upstream()
    with tempfile.TemporaryDirectory(prefix="raccord-fuzz-") as tmp, serve_wsgi(upstream) as url:
        folder = Path(tmp)
        served = Served(local_example(folder, url), example_env(folder), workdir=folder, workers=2)
        try:
            ops = documented(served)

            @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=cases(ops))
            def one(case: Case) -> None:
                tally.check(served.session, served.url, case)

            started = time.perf_counter()
            one()
            elapsed = time.perf_counter() - started
        finally:
            served.stop()
        log = served.text()
        tracebacks = log.count("Traceback")
        if tracebacks:  # shown (masked like every log line) so that it can be fixed
            print(log[max(0, log.find("Traceback") - 2000): log.find("Traceback") + 4000], file=sys.stderr)
    kinds = sorted({f"{o.method} {o.path}" for o in ops})
    escaped = sum(".." in s.raw_path.split("/") or not s.raw_path.startswith(("/ban/", "/open311/v2/"))
                  for s in upstream.seen)
    unreached = [k for k in kinds if not tally.targets[k]]
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items()))
    text = f"""# Fuzz: every instance's OpenAPI document, through `raccord serve`

Measured {dt.date.today().isoformat()} by `bench/fuzz_openapi.py` on a shared {os.cpu_count()}-core machine.

Hypothesis cases drawn from the OpenAPI documents (`/<instance>/openapi.json`) of the example territory's
{len(ex.INSTANCES)} instances ({len(ops)} operations, {len(kinds)} distinct paths × methods): parameters and JSON
bodies from their schemas, and beside them (out-of-range and huge numbers, strings up to 20,000 characters, wrong
types, required parameters left out, unknown ones, bodies breaking the schema or not JSON); non-open operations
signed (or with the API key) by a client allowed to call them. `raccord serve --workers 2`, SQLite, the BAN and
Open311 servers local, PayFiP and SMTP at closed ports (so their calls fail).

| | |
|---|---|
| cases | {tally.cases} in {elapsed:.0f} s ({tally.cases / elapsed:.0f}/s) |
| with credentials | {tally.signed} |
| statuses | {statuses} |
| **500s, incidents (200 + `raccord.incident` in Passerelle mode) and non-JSON answers** | **{len(tally.bad)}** |
| tracebacks in the server's log | {tracebacks} |
| requests that left the business server's API (path traversal) | {escaped} of {len(upstream.seen)} |
| operations reached | {len(kinds) - len(unreached)} / {len(kinds)} |

{"Not reached: " + ", ".join(unreached) if unreached else "Every operation was reached."}

{chr(10).join("- " + b for b in tally.bad[:20])}

In CI, `tests/adversarial/test_openapi_fuzz.py` runs {CASES} cases (`RACCORD_FUZZ_CASES`) and asserts the same.
"""
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
