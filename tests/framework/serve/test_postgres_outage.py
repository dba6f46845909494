"""PostgreSQL stopped while `raccord serve` runs: only 503s (never a 500) during the
outage, recovery without restarting raccord, and no accepted push lost.

On a private cluster (initdb/pg_ctl on its own port), never the shared server. The test
stops it OUTAGE_S = 10 s to stay quick; a 30 s run (OUTAGE_S=30) gave the same result:
see docs/benchmarks/faults.md.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.framework.serve.harness import Serve, business, wait_for, write_config
from tests.framework.serve.pgcluster import PrivateCluster
from tests.framework.serve.traffic import outage

OUTAGE_S = float(os.environ.get("RACCORD_TEST_OUTAGE_S", "10"))


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster()
    yield pg
    pg.destroy()


def test_postgres_stopped_gives_only_503s_then_recovers_and_loses_nothing(
        tmp_path: Path, cluster: PrivateCluster) -> None:
    with business() as shop:
        serve = Serve(write_config(tmp_path, shop.url), cluster.url)
        try:
            master = serve.proc.pid
            run = outage(serve, cluster, OUTAGE_S)
            traffic, during = run.traffic, run.during
            statuses = traffic.statuses()
            assert not [r for r in traffic.results if r[1] >= 500 and r[1] != 503], statuses
            assert not [r for r in traffic.results if r[1] == 0], statuses  # always an answer
            assert {status for _, status, _, _ in during} <= {200, 202, 503}, statuses
            for kind in ("push", "signed", "job", "readyz"):
                assert (kind, 503) in statuses, (kind, statuses)  # the outage was seen …
            assert max(seconds for _, status, seconds, _ in during if status == 503) < 8  # … quickly
            assert ("push", 202) in Counter((k, s) for k, s, _, _ in traffic.results[-20:])  # and healed
            assert serve.proc.pid == master and serve.proc.poll() is None  # without restarting raccord
            # Every accepted push is delivered, once (a duplicate only for a job taken over).
            wait_for(lambda: set(traffic.accepted) <= set(shop.pushes()), 60,
                     lambda: str(set(traffic.accepted) - set(shop.pushes())))
            assert all(shop.pushes()[key] == 1 for key in traffic.accepted), shop.pushes()
            assert "incident" not in serve.text()
        finally:
            serve.stop()
