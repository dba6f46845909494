"""PostgreSQL stopped while `raccord serve` runs: only 503s (never a 500) during the
outage, recovery without restarting raccord, and no accepted push lost.

On a private cluster (initdb/pg_ctl on its own port), never the shared server. The test
stops it OUTAGE_S = 10 s to stay quick; a 30 s run (OUTAGE_S=30) gave the same result:
see docs/benchmarks/faults.md.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.framework.serve.harness import API_KEY, Serve, business, wait_for, write_config
from tests.framework.serve.pgcluster import PrivateCluster

OUTAGE_S = float(os.environ.get("RACCORD_TEST_OUTAGE_S", "10"))


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster()
    yield pg
    pg.destroy()


class Traffic:
    """Pushes, signed calls, job-status reads and probes, round after round."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.results: list[tuple[str, int, float, str]] = []  # kind, status, seconds, key
        self.accepted: dict[str, str] = {}  # key → job status url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _call(self, kind: str, send: object, key: str = "") -> requests.Response | None:
        started = time.monotonic()
        try:
            response = send()  # type: ignore[operator]
        except requests.RequestException:
            self.results.append((kind, 0, time.monotonic() - started, key))
            return None
        self.results.append((kind, response.status_code, time.monotonic() - started, key))
        return response  # type: ignore[no-any-return]

    def _run(self) -> None:
        s, n = self.serve, 0
        while not self.stop.is_set():
            n += 1
            key = f"p{n}"
            pushed = self._call("push", lambda k=key: s.push(k), key)
            if pushed is not None and pushed.status_code == 202:
                self.accepted[key] = pushed.json()["data"]["url"]
            self._call("signed", lambda: s.get(s.signed_path()))
            if self.accepted:
                url = next(iter(self.accepted.values()))
                self._call("job", lambda u=url: s.get(u, headers={"X-API-Key": API_KEY}))
            self._call("readyz", lambda: s.get("/readyz"))
            time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)

    def statuses(self) -> Counter[tuple[str, int]]:
        return Counter((kind, status) for kind, status, _, _ in self.results)


def test_postgres_stopped_gives_only_503s_then_recovers_and_loses_nothing(
        tmp_path: Path, cluster: PrivateCluster) -> None:
    with business() as shop:
        serve = Serve(write_config(tmp_path, shop.url), cluster.url)
        try:
            master = serve.proc.pid
            traffic = Traffic(serve)
            try:
                time.sleep(2)
                cluster.stop()
                down_at = len(traffic.results)
                time.sleep(OUTAGE_S)
                during = traffic.results[down_at:]
                cluster.start()
                wait_for(lambda: serve.get("/readyz", timeout=5).status_code == 200, 40, serve.text)
                time.sleep(2)
            finally:
                traffic.close()
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
