"""Territories for the open311 tests, and running queued jobs in process."""

from __future__ import annotations

from typing import Any

from framework.app import Raccord
from framework.runtime.queue import find_job
from framework.runtime.worker import Worker, WorkerOptions

API_KEY_ENV = "OPEN311_TEST_KEY"
API_KEY = "s3cret-key"


def territory(metz_url: str, communes_url: str, *, fmt: str = "json", extra: str = "",
              profile_settings: str = "") -> str:
    return f"""
[territory]
name = "test"

[runtime]
backoff_seconds = 0.01

[profiles.signalements]
connector = "open311"

[profiles.signalements.settings]
retries = 0
breaker_threshold = 100
read_timeout = 2.0
format = "{fmt}"
notify_on = {{ "*" = ["closed"] }}
{profile_settings}

[instances.metz]
name = "Ville de Metz"
insee = ["57463"]
profiles = ["signalements"]
identity = {{ logo = "https://metz.example/logo.svg", color = "#7a1f3d" }}

[instances.metz.settings.signalements]
endpoint_url = "{metz_url}"
api_key = {{ env = "{API_KEY_ENV}" }}

[instances.metropole]
name = "Metz Métropole"
kind = "metropole"

[instances.communes]
name = "Instance multi-communale"
kind = "multicommunal"
hosted_by = "metropole"
profiles = ["signalements"]

[instances.communes.settings.signalements]
endpoint_url = "{communes_url}"
api_key = {{ env = "{API_KEY_ENV}" }}
jurisdiction_id = "communes"
jurisdictions = {{ woippy = "woippy.metzmetropole.fr" }}

[instances.woippy]
name = "Woippy"
insee = ["57751"]
hosted_by = "communes"
identity = {{ color = "#1f7a5c" }}
{extra}
"""


def run_jobs(raccord: Raccord, rounds: int = 5) -> int:
    """Run what is due in the queue, in this process; return how many jobs ran."""
    worker = Worker(raccord, WorkerOptions(backoff_seconds=0.01, lease_seconds=5))
    total = 0
    for _ in range(rounds):
        ran = worker.run_once()
        total += ran
        if ran == 0:
            break
    return total


def job_status(raccord: Raccord, job_id: int) -> Any:
    job = find_job(raccord.db, job_id)
    assert job is not None
    return job
