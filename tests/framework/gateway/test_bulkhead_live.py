"""One dribbling business server, a running gunicorn gateway: every other instance keeps
answering; the slow instance's extra callers get a fast 503; its held calls end at the
total deadline with a 504 (bench/bulkhead.py measures the latencies)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.framework.gateway import fakes
from tests.framework.gateway.conftest import Live
from tests.framework.outbound.hostile import HostileServer

SLOW_CALLERS = 10  # more than the 2 workers × 2 bulkhead slots of the slow instance
TOTAL_TIMEOUT = 4


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def live_slow(upstream: str, hostile: HostileServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    config = tmp_path_factory.mktemp("bulkhead") / "instances.toml"
    text = fakes.territory_toml(upstream).replace(
        f'[instances.alpha.settings.echo]\nurl = "{upstream}"',
        # alpha's business server dribbles its answers (a byte every 0.2 s, under the 0.3 s read timeout)
        f'[instances.alpha.settings.echo]\nurl = "{hostile.url}/dribble/0.2"\ntotal_timeout = {TOTAL_TIMEOUT}')
    assert "/dribble" in text
    # The statuses (fast 503, 504) are what this test checks: HTTP error statuses, not
    # Passerelle's 200 + err 1 (the default, tested in test_wcs_replay.py).
    text = text.replace("[gateway]\n", '[gateway]\nerror_status = "http"\n', 1)
    assert 'error_status = "http"' in text
    config.write_text(text, encoding="utf-8")
    server = Live(config, f"sqlite:///{config.parent / 'live.sqlite3'}")
    yield server
    server.stop()


def call(live: Live, instance: str) -> tuple[int, float, dict[str, object]]:
    started = time.monotonic()
    response = requests.get(f"{live.url}/{instance}/echo/echo?q=x",
                            headers={"X-API-Key": fakes.SECRETS[f"GW_{instance.upper()}_KEY"]}, timeout=30)
    body = response.json()
    if response.status_code == 503:
        assert response.headers["Retry-After"] == "5"
    return response.status_code, time.monotonic() - started, body


def test_a_dribbling_upstream_fills_only_its_own_bulkhead(live_slow: Live) -> None:
    normal = [call(live_slow, inst)[1] for inst in ("beta", "gamma") * 10]
    with ThreadPoolExecutor(SLOW_CALLERS + 2) as pool:
        slow = [pool.submit(call, live_slow, "alpha") for _ in range(SLOW_CALLERS)]
        time.sleep(0.5)  # the slow calls are in, holding their slots
        during = [call(live_slow, inst) for inst in ("beta", "gamma") * 10]
        health = requests.get(f"{live_slow.url}/healthz", timeout=5)
        results = [f.result() for f in slow]

    assert health.status_code == 200
    assert all(status == 200 for status, _, _ in during), during
    # Generous bounds: a noisy 2-core machine; the bench records the real p99 ratio.
    assert max(t for _, t, _ in during) < 2.0
    assert statistics.median(t for _, t, _ in during) < max(0.5, 5 * statistics.median(normal))

    statuses = sorted(status for status, _, _ in results)
    refused = [r for r in results if r[0] == 503]
    held = [r for r in results if r[0] == 504]
    assert len(held) <= 4 and len(held) + len(refused) == SLOW_CALLERS, statuses
    assert refused and all(t < 2.0 for _, t, _ in refused)  # a fast 503, not a wait
    assert all(body["err_class"] == "raccord.unavailable" and "busy" in str(body["err_desc"])
               and body["data"] == {"retry_after": 5} for _, _, body in refused)
    assert held and all(TOTAL_TIMEOUT - 0.5 < t < TOTAL_TIMEOUT + 3 for _, t, _ in held)
    assert all("did not send its whole answer within 4 s" in str(body["err_desc"]) for _, _, body in held)
