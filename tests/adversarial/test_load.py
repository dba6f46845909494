"""A short load (10 s, 20 concurrent clients, three instances, open and signed calls)
through a running ``raccord serve`` on the example territory: no error, no 5xx, and every
instance answered. The 60 s run with its latencies is bench/load.py (docs/benchmarks/load.md);
no latency is asserted here (the machine is shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.load import INSTANCES, run, served_example, table

pytestmark = pytest.mark.xdist_group("load")


def test_twenty_clients_for_ten_seconds_get_no_error(tmp_path: Path) -> None:
    with served_example(tmp_path) as served:
        result = run(served, seconds=10, clients=20)
        log = served.text()
    print("\n" + table(result))
    assert {i: dict(c) for i, c in result.errors.items()} == {}
    for name, calls, *_, errors, fivexx in result.rows():
        assert calls > 0 and errors == 0 and fivexx == 0, name
    assert set(result.statuses) == set(INSTANCES)
    assert "Traceback" not in log and "incident" not in log, log[-3000:]
