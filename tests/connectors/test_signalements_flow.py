"""Signalements end to end, with real local servers and a real worker process.

A fake GeoReport v2 server per ticketing system (open311_server.py), a real SMTP
server on loopback (aiosmtpd, STARTTLS, private CA) and ``raccord worker`` as a
subprocess, killed with SIGKILL in the middle of a delivery: a report for Metz creates
one ticket on Metz's server although the server was down and the worker died
mid-POST, is polled to its final status, and the citizen hears back once, in Metz's
name, logo and colours; a report for Woippy (hosted) goes through the multi-communal
instance's binding and still speaks in Woippy's name, across an SMTP outage.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from framework import Accepted, Forbidden
from framework.app import Raccord
from framework.cli import cli
from framework.runtime.queue import enqueue, find_job, list_jobs
from framework.testing import call
from tests.conftest import ROOT
from tests.connectors.open311.open311_server import Open311Server
from tests.connectors.open311.support import API_KEY, API_KEY_ENV
from tests.connectors.smtp_server import PASSWORD, USER, SmtpInbox
from tests.framework.outbound.servers import self_signed

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")]
CITIZEN = "claire.martin@example.org"
RACCORD = str(Path(sys.executable).with_name("raccord"))


def territory(metz: Open311Server, communes: Open311Server, smtp_port: int) -> str:
    courriel = f"""host = "127.0.0.1"
port = {smtp_port}
ca_bundle = "cert.pem"
username = "{USER}"
password = {{ env = "SMTP_FLOW_PASSWORD" }}"""
    return f"""
[territory]
name = "Metz Métropole (test)"
triage = "metropole"

[runtime]
lease_seconds = 2
poll_seconds = 0.1
backoff_seconds = 0.2
workers = 1

[profiles.signalements]
connector = "open311"

[profiles.signalements.settings]
retries = 0
read_timeout = 3.0
breaker_threshold = 1000
notify_profile = "courriel"
notify_on = {{ "*" = ["closed"] }}

[profiles.aiguillage]
connector = "dispatch"

[profiles.aiguillage.settings]
boundaries = "{ROOT / 'data' / 'metz_metropole_communes.geojson'}"
geocoder = ""
competences = {{ voirie = "commune" }}

[profiles.demandes]
connector = "dispatch_inbox"

[profiles.courriel]
connector = "email"

[profiles.courriel.settings]
deadline = 20.0

[instances.metropole]
name = "Metz Métropole"
kind = "metropole"
identity = {{ logo = "https://metropole.example/logo.svg", color = "#00558c" }}
profiles = ["aiguillage", "demandes"]

[instances.metz]
name = "Ville de Metz"
insee = ["57463"]
profiles = ["signalements", "courriel", "demandes"]
identity = {{ logo = "https://metz.example/logo.svg", color = "#7a1f3d", secondary_color = "#f2c300", \
email = "mairie@metz.example" }}

[instances.metz.settings.signalements]
endpoint_url = "{metz.url}"
api_key = {{ env = "{API_KEY_ENV}" }}

[instances.metz.settings.courriel]
{courriel}
sender = "noreply@metz.example"

[instances.communes]
name = "Instance multi-communale"
kind = "multicommunal"
hosted_by = "metropole"
profiles = ["signalements", "courriel"]

[instances.communes.settings.signalements]
endpoint_url = "{communes.url}"
api_key = {{ env = "{API_KEY_ENV}" }}
jurisdictions = {{ woippy = "57751" }}

[instances.communes.settings.courriel]
{courriel}
sender = "noreply@communes.example"

[instances.woippy]
name = "Woippy"
insee = ["57751"]
hosted_by = "communes"
profiles = ["demandes"]
identity = {{ logo = "https://woippy.example/logo.svg", color = "#1f7a5c", email = "mairie@woippy.example" }}
"""


class Workers:
    """``raccord worker`` subprocesses, their logs kept for the privacy check."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.config.parent / f"worker-{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([RACCORD, "--config", str(self.config), "worker", "--threads", "1"],
                                    stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.kill(proc.pid, signal.SIGKILL)  # mid-delivery: no chance to clean up
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    cert, key = self_signed(tmp_path)
    with Open311Server() as metz, Open311Server(jurisdictions=("57751",)) as communes, \
            SmtpInbox(cert, key) as inbox:
        config = tmp_path / "instances.toml"
        config.write_text(territory(metz, communes, inbox.port), encoding="utf-8")
        env = {**os.environ, API_KEY_ENV: API_KEY, "SMTP_FLOW_PASSWORD": PASSWORD,
               "RACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'raccord.sqlite3'}"}
        for name in (API_KEY_ENV, "SMTP_FLOW_PASSWORD", "RACCORD_DATABASE_URL"):
            monkeypatch.setenv(name, env[name])
        raccord = Raccord.open(config)
        workers = Workers(config, env)
        try:
            yield {"metz": metz, "communes": communes, "inbox": inbox, "raccord": raccord, "workers": workers,
                   "config": config}
        finally:
            workers.stop_all()
            raccord.close()


def job_done(raccord: Raccord, job_id: int) -> bool:
    job = find_job(raccord.db, job_id)
    return job is not None and job.status == "done"


def poll(raccord: Raccord, instance: str) -> int:
    return enqueue(raccord.db, instance, "signalements", "poll", {})


def test_a_report_reaches_the_commune_once_is_followed_and_the_citizen_hears_back_once(
        world: dict[str, Any]) -> None:
    metz, communes, inbox = world["metz"], world["communes"], world["inbox"]
    raccord, workers = world["raccord"], world["workers"]
    # 0. The report is dispatched: a point in Metz → Metz (its own instance serves it).
    routed = call(raccord, "metropole/aiguillage/route", method="POST", body={
        "category": "voirie", "form_ref": "signalement-42", "summary": "Nid-de-poule rue Serpenoise",
        "form_url": "https://demarches.metzmetropole.fr/signalement/42/", "point": {"lon": 6.1744, "lat": 49.1166}})
    assert routed["responsible"]["instance"] == "metz" and routed["responsible"]["served_by"] == "metz"
    report = {"service_code": "voirie", "external_id": "demarches-42", "description": "Nid-de-poule rue Serpenoise",
              "lat": 49.1166, "long": 6.1744, "email": CITIZEN, "attributes": {"danger": "oui"},
              "dispatch": {"request_id": routed["request_id"]}}

    # 1. Metz's server is down: the report is queued (202), and a retry is the same job.
    metz.down = True
    accepted = call(raccord, "metz/signalements/create", method="POST", body=report)
    assert isinstance(accepted, Accepted)
    assert call(raccord, "metz/signalements/create", method="POST", body=report) == accepted
    first = workers.start()
    wait_for(lambda: (find_job(raccord.db, accepted.job_id) or accepted).attempts >= 1, what="a failed attempt")
    # 2. The server is back but answers late: the worker dies after the ticket exists,
    #    before it hears of it. The next worker finds the ticket instead of posting again.
    metz.hold_post = threading.Event()
    metz.down = False
    wait_for(metz.post_received.is_set, what="the POST to reach the server")
    workers.kill(first)
    metz.hold_post.set()
    metz.hold_post = None
    workers.start()
    wait_for(lambda: job_done(raccord, accepted.job_id), what="the queued report delivered")
    assert len(metz.posts) == 1 and list(metz.tickets) == ["1001"]
    ticket = find_job(raccord.db, accepted.job_id).result["service_request_id"]  # type: ignore[union-attr]
    assert ticket == "1001"

    # 3. Polled to its final status; the worker dies in the middle of the SMTP dialogue.
    first_poll = poll(raccord, "metz")
    wait_for(lambda: job_done(raccord, first_poll), what="a first poll")
    metz.set_status(ticket, "closed", "Rebouché le 2 décembre")
    inbox.block_rcpt = threading.Event()
    second = workers.procs[-1]
    poll(raccord, "metz")
    wait_for(inbox.rcpt_reached.is_set, what="the e-mail delivery to start")
    workers.kill(second)
    inbox.block_rcpt.set()
    inbox.block_rcpt = None
    workers.start()
    wait_for(lambda: len(inbox.messages) == 1 and _all_done(raccord), what="the e-mail delivered")
    time.sleep(2.5)  # a lease's length: nothing else goes out
    (message,) = inbox.messages
    assert message["From"] == "Ville de Metz <noreply@metz.example>"
    assert message["To"] == CITIZEN and message["Subject"] == "Ville de Metz : votre signalement est traitée"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'src="https://metz.example/logo.svg"' in html and "#7a1f3d" in html and "#f2c300" in html
    assert "Rebouché le 2 décembre" in html
    status = call(raccord, "metz/signalements/status", id="demarches-42")
    assert status["final"] is True and status["status"] == "closed"

    # 4. The same report for Woippy (hosted): the multi-communal binding, Woippy's name,
    #    across an SMTP outage.
    inbox.stop()
    woippy_point = {"lon": 6.1512, "lat": 49.1516}
    routed_w = call(raccord, "metropole/aiguillage/route", method="POST", body={
        "category": "voirie", "form_ref": "signalement-43", "summary": "Lampadaire éteint", "point": woippy_point})
    responsible = routed_w["responsible"]
    assert responsible["instance"] == "woippy" and responsible["served_by"] == "communes"
    hosted = call(raccord, f"{responsible['served_by']}/signalements/create", method="POST",
                  body={**report, "external_id": "demarches-43", "on_behalf_of": responsible["instance"],
                        "lat": woippy_point["lat"], "long": woippy_point["lon"],
                        "dispatch": {"request_id": routed_w["request_id"]}})
    assert hosted["on_behalf_of"] == "woippy" and communes.posts[0]["jurisdiction_id"] == "57751"
    communes.set_status(hosted["service_request_id"], "closed", "Lampadaire remplacé")
    poll(raccord, "communes")
    wait_for(lambda: any(j.name == "send" and j.instance == "communes" and j.error
                         for j in list_jobs(raccord.db)), what="the e-mail to wait for SMTP")
    inbox.start()
    wait_for(lambda: len(inbox.messages) == 2 and _all_done(raccord), what="the hosted commune's e-mail")
    woippy = inbox.messages[1]
    assert woippy["From"] == "Woippy <noreply@communes.example>"
    assert woippy["Reply-To"] == "Woippy <mairie@woippy.example>"
    html = woippy.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert ">Woippy<" in html and "https://woippy.example/logo.svg" in html and "#1f7a5c" in html
    assert "Ville de Metz" not in html

    # No duplicate anywhere, and the citizen's address in no worker log.
    assert len(metz.posts) == 1 and len(communes.posts) == 1
    assert len({m["Message-ID"] for m in inbox.messages}) == 2
    assert CITIZEN not in workers.text() and "c***@e***.org" in workers.text()

    # 5. `raccord history` tells the whole story of the report.
    result = CliRunner().invoke(cli, ["--config", str(world["config"]), "history", "demarches-42",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    assert CITIZEN not in result.output
    import json

    events = [(e["event"], e.get("detail", "")) for e in json.loads(result.output)["events"]]
    kinds = [k for k, _ in events]
    assert kinds[0].startswith("dispatch ") and "→ metz (decided by point, commune 57463)" in events[0][1]
    assert kinds.index("queued") < kinds.index("recovered") < kinds.index("created")
    assert [d for k, d in events if k == "status"] == ["open", "closed: Rebouché le 2 décembre"]
    assert "notification" in kinds and kinds[-1] == "e-mail sent"
    # …and the dispatched requests moved on in the inboxes as their tickets did.
    from framework import RequestStore

    assert RequestStore(raccord.db).get(routed["request_id"]).status == "done"  # type: ignore[union-attr]
    assert RequestStore(raccord.db).get(routed_w["request_id"]).status == "done"  # type: ignore[union-attr]
    with pytest.raises(Forbidden, match="handled by metz, not woippy"):
        call(raccord, "communes/signalements/create", method="POST",
             body={**report, "external_id": "x", "on_behalf_of": "woippy"})


def _all_done(raccord: Raccord) -> bool:
    return all(j.status == "done" for j in list_jobs(raccord.db, limit=500))
