"""/metrics of a running ``raccord serve`` (2 gunicorn workers + the background
roles) before and after traffic, upstream failures and queued jobs: every family,
with values added up over all the processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from framework.runtime import queue
from framework.storage import open_database
from framework.testing import free_port
from tests.conftest import ROOT
from tests.framework.gateway.fakes import serve_wsgi
from tests.framework.gateway.signer import sign
from tests.framework.serve.harness import stop_process

pytestmark = pytest.mark.xdist_group("serve-metrics")
WCS_SECRET = "metz-wcs-secret-for-tests"


class FakeBan:
    """The BAN's /search/: answers, or fails with HTTP 500 while ``failing``."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.failing:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"down"]
        body = json.dumps({"type": "FeatureCollection", "features": []}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


@pytest.fixture(scope="module")
def ban() -> Iterator[tuple[FakeBan, str]]:
    app = FakeBan()
    with serve_wsgi(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def served(ban: tuple[FakeBan, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("serve-metrics")
    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    text = text.replace('service_url = "https://api-adresse.data.gouv.fr"', f'service_url = "{ban[1]}"')
    # Periodic jobs (health checks, street syncs) are spread over a day: during the test
    # the scheduler runs, yet the three bindings the test counts have no slot.
    text += ("\n[runtime]\nworkers = 1\npoll_seconds = 0.2\nbackoff_seconds = 3600\n"
             "health_check_interval = 86400\n"
             # HTTP statuses, not Passerelle's 200 + err 1: the test counts status classes.
             '\n[gateway]\nerror_status = "http"\n')
    config = folder / "instances.toml"
    config.write_text(text, encoding="utf-8")
    (folder / "data").symlink_to(ROOT / "data")  # the example's files, relative to instances.toml
    db_url = f"sqlite:///{folder / 'serve.sqlite3'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RACCORD_", "PROMETHEUS_"))}
    env.update(RACCORD_DATABASE_URL=db_url, RACCORD_METZ_WCS_SECRET=WCS_SECRET, PYTHONPATH=str(ROOT))
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "raccord"), "--config", str(config), "serve",
                             "--port", str(port), "--workers", "2"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, folder / "serve.log")
        yield url, db_url
    finally:
        stop_process(proc)
        log.close()


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(log.read_text()[-3000:])


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"{url}/metrics", timeout=10).text
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict[Any, float], name: str, **labels: str) -> float:
    """Sum over the series whose labels include ``labels`` (e.g. every python version)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def test_metrics_of_a_running_serve_add_up_every_process(served: tuple[str, str],
                                                         ban: tuple[FakeBan, str]) -> None:
    url, db_url = served
    before = scrape(url)
    # Never empty: build info and database gauges from start-up.
    assert total(before, "raccord_build_info") >= 1
    bindings = sum(len(i.profiles) for i in _example_instances())
    assert value(before, "raccord_bindings", status="unknown") == bindings  # every binding of the example
    assert value(before, "raccord_state_up") == 1
    assert total(before, "raccord_outbound_requests_total") == 0

    session = requests.Session()
    for _ in range(10):  # served by both workers (keep-alive off: new connection each time)
        assert requests.get(f"{url}/metz/adresse/search?q=rue", timeout=10).status_code == 200
    for _ in range(3):  # Woippy's override answers
        assert session.get(f"{url}/woippy/adresse/search?q=rue", timeout=10).status_code == 200
    ban[0].failing = True
    for _ in range(6):  # 5 failures open the circuit (of the worker the session sticks to); the 6th is refused
        assert session.get(f"{url}/marly/adresse/search?q=rue", timeout=10).status_code in (502, 503)
    ban[0].failing = False
    assert requests.get(f"{url}/metz/", headers={"X-API-Key": "not-a-key"}, timeout=10).status_code == 401
    query = sign("orig=demarches.metz.fr", WCS_SECRET)
    assert requests.get(f"{url}/metz/?{query}", timeout=10).status_code == 200
    assert requests.get(f"{url}/metz/?{query}", timeout=10).status_code in (401, 403)  # replayed nonce

    db = open_database(db_url)
    queue.enqueue(db, "metz", "adresse", "health_check")
    queue.enqueue(db, "metz", "adresse", "no_such_job")
    db.dispose()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = scrape(url)
        if total(after, "raccord_job_runs_total") >= 2 and value(after, "raccord_queue_jobs", profile="adresse",
                                                                 status="queued") == 0:
            break
        time.sleep(0.5)

    assert value(after, "raccord_outbound_requests_total", instance="metz", profile="adresse",
                 status_class="2xx") == 10 + 1  # + the health check job's call
    assert value(after, "raccord_outbound_requests_total", instance="woippy", profile="adresse",
                 status_class="2xx") == 3
    assert value(after, "raccord_outbound_requests_total", instance="marly", profile="adresse",
                 status_class="5xx") == 5
    # Durations are by profile: as many as the profile's requests, from every process.
    assert value(after, "raccord_outbound_request_duration_seconds_count", profile="adresse",
                 status_class="2xx") == total(after, "raccord_outbound_requests_total", profile="adresse",
                                              status_class="2xx") >= 14
    assert value(after, "raccord_binding_up", instance="marly", profile="adresse") == 0
    assert value(after, "raccord_binding_up", instance="metz", profile="adresse") == 1
    assert value(after, "raccord_circuit_open", instance="marly", profile="adresse") == 1
    assert value(after, "raccord_circuit_open", instance="metz", profile="adresse") == 0
    assert value(after, "raccord_bindings", status="down") == 1
    assert value(after, "raccord_override_calls_total", override="woippy/adresse") == 3
    assert value(after, "raccord_auth_failures_total", reason="apikey_unknown") == 1
    assert value(after, "raccord_auth_failures_total", reason="nonce") == 1
    assert value(after, "raccord_nonce_rejections_total", reason="replayed") == 1
    assert value(after, "raccord_job_runs_total", job="health_check", outcome="done") == 1
    assert value(after, "raccord_job_runs_total", job="-", outcome="dead") == 1
    assert value(after, "raccord_job_duration_seconds_count", job="health_check") == 1
    assert value(after, "raccord_queue_jobs", profile="adresse", status="dead") == 1
    assert value(after, "raccord_dead_letters", instance="metz", profile="adresse") == 1
    text = requests.get(f"{url}/metrics", timeout=10).text
    assert WCS_SECRET not in text and "not-a-key" not in text


def _example_instances() -> list[Any]:
    from framework.app import check_config

    territory, _, _ = check_config(str(ROOT / "instances.toml"))
    assert territory is not None
    return list(territory.instances.values())
