"""The canary territory: every secret is a unique canary string — client signing secrets,
API keys (one in a secret file), an HTTP basic password, URL credentials
(``user:canary@host``), a bearer token, an Open311 API key (secret file), an SMTP
password — served by a real ``raccord serve`` (SQLite in a temporary directory) in front
of local business servers that fail in varied ways, some echoing the credential they
received. After signed, API-key, basic, anonymous and bad calls, pushes and jobs, every
output is grepped for every canary: the server's stdout and stderr, every file it wrote
(the SQLite file and its journal, raw), every row of every table, /metrics, every answer
(error envelopes included), the status page, the OpenAPI documents, and the CLI (check,
explain, costs, jobs, logs, history, status, call, docs), table and JSON.

The canaries are in use: the business servers received each upstream credential, and
each client credential is served where a wrong one is refused."""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import MetaData, create_engine, select

from framework.cli import main
from tests.adversarial.serving import RACCORD, Served, clean_env
from tests.adversarial.upstream import Upstream
from tests.conftest import ROOT
from tests.connectors.smtp_server import SmtpInbox, free_port
from tests.framework.gateway.fakes import serve_wsgi
from tests.framework.gateway.signer import sign
from tests.framework.outbound.servers import self_signed
from tests.framework.serve.harness import wait_for

pytestmark = [pytest.mark.xdist_group("canary"),
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")]

#: where each canary is written → its value (unique, alphanumeric: URL-quoting leaves it whole)
CANARY = {
    "metz_wcs_secret": "cnryMetzWcsSig7f3a91",
    "metropole_agents_secret": "cnryAgentsSig0c4d22",
    "metz_portail_key": "cnryPortailKeyFile5b8e",     # a secret file
    "metropole_portail_key": "cnryMetroKey2e6f40",
    "admin_password": "cnryAdminBasicPw9a1c",
    "ban_url_password": "cnryBanUrlPw3d7b58",
    "probe_url_password": "cnryProbeUrlPw8e2a17",
    "probe_token": "cnryProbeToken4c9f63",
    "open311_key": "cnryOpen311KeyFile1b5d",          # a secret file
    "smtp_password": "cnrySmtpPw6a0e84",
}
ENV = {"CANARY_METZ_WCS": CANARY["metz_wcs_secret"], "CANARY_AGENTS": CANARY["metropole_agents_secret"],
       "CANARY_METRO_KEY": CANARY["metropole_portail_key"], "CANARY_ADMIN": CANARY["admin_password"],
       "CANARY_TOKEN": CANARY["probe_token"], "CANARY_SMTP": CANARY["smtp_password"]}
EXTERNAL_ID = "form-canary-42"


def needles() -> dict[str, str]:
    """Each canary, and the encodings it travels in (HTTP basic's base64)."""
    found = {f"{k}": v for k, v in CANARY.items()}
    for name, user in (("admin_password", "admin"), ("ban_url_password", "ban"), ("probe_url_password", "agent")):
        found[f"{name} (basic)"] = base64.b64encode(f"{user}:{CANARY[name]}".encode()).decode()
    return found


def territory(upstream: str, smtp_port: int) -> str:
    ban = upstream.replace("http://", f"http://ban:{CANARY['ban_url_password']}@") + "/ban"
    probe = upstream.replace("http://", f"http://agent:{CANARY['probe_url_password']}@") + "/probe"
    return f"""
[territory]
name = "Canary"

[gateway]
error_status = "http"  # the statuses are asserted; the envelopes are the same in Passerelle's mode

[runtime]
workers = 1
poll_seconds = 0.2
backoff_seconds = 0.3
health_check_interval = 86400

[profiles.adresse]
connector = "base_adresse"
settings = {{ service_url = "{ban}", retries = 0, read_timeout = 1.0 }}

[profiles.probe]
connector = "canary_probe"
settings = {{ retries = 0, read_timeout = 1.0, breaker_threshold = 100 }}

[profiles.signalements]
connector = "open311"
settings = {{ retries = 0, breaker_threshold = 100, read_timeout = 2.0 }}

[profiles.courriel]
connector = "email"
settings = {{ deadline = 5.0 }}

[instances.metropole]
name = "Metropole"
kind = "metropole"
profiles = ["adresse", "probe"]
[instances.metropole.settings.probe]
url = "{probe}"
token = {{ env = "CANARY_TOKEN" }}
[instances.metropole.clients.admin]
basic = {{ username = "admin", password = {{ env = "CANARY_ADMIN" }} }}
permissions = ["can_admin"]
[instances.metropole.clients.agents]
signature = {{ orig = "backoffice.metropole.test", secret = {{ env = "CANARY_AGENTS" }} }}
permissions = ["can_access"]
[instances.metropole.clients.portail]
apikey = {{ env = "CANARY_METRO_KEY" }}
permissions = ["can_access"]

[instances.metz]
name = "Ville de Metz"
kind = "commune"
insee = ["57463"]
population = 120000
profiles = ["adresse", "probe", "signalements", "courriel"]
identity = {{ logo = "https://metz.test/logo.svg", color = "#7a1f3d", email = "mairie@metz.test" }}
[instances.metz.settings.probe]
url = "{probe}"
token = {{ env = "CANARY_TOKEN" }}
[instances.metz.settings.signalements]
endpoint_url = "{upstream}/open311/v2/"
api_key = {{ file = "secrets/open311.key" }}
[instances.metz.settings.courriel]
host = "127.0.0.1"
port = {smtp_port}
username = "raccord"
password = {{ env = "CANARY_SMTP" }}
sender = "noreply@metz.test"
ca_bundle = "cert.pem"
[instances.metz.clients.wcs]
signature = {{ orig = "demarches.metz.test", secret = {{ env = "CANARY_METZ_WCS" }} }}
permissions = ["can_access"]
[instances.metz.clients.portail]
apikey = {{ file = "secrets/portail.key" }}
permissions = ["can_access"]
"""


class RecordingInbox(SmtpInbox):
    """An SMTP server that accepts the canary password and records every one it was given."""

    passwords: list[bytes]

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.passwords.append(data.password)
            return AuthResult(success=data.password == CANARY["smtp_password"].encode(), handled=False)
        return AuthResult(success=False, handled=False)


@dataclass
class Outputs:
    """Every text raccord produced, by where it came from."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        self.texts[where] = self.texts.get(where, "") + text

    def leaks(self) -> list[tuple[str, str]]:
        return [(where, name) for where, text in self.texts.items()
                for name, value in needles().items() if value in text]


@dataclass
class Canary:
    folder: Path
    config: Path
    env: dict[str, str]
    upstream: Upstream
    inbox: RecordingInbox
    served: Served
    outputs: Outputs


def signed(path: str, orig: str, secret: str, query: str = "") -> str:
    signed_query = sign(f"{query}&orig={orig}" if query else f"orig={orig}", secret)
    return f"{path}?{signed_query}"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canary]:
    folder = tmp_path_factory.mktemp("canary")
    (folder / "secrets").mkdir()
    (folder / "secrets" / "portail.key").write_text(CANARY["metz_portail_key"] + "\n")
    (folder / "secrets" / "open311.key").write_text(CANARY["open311_key"] + "\n")
    cert, key = self_signed(folder)
    upstream = Upstream()
    inbox = RecordingInbox(cert, key, port=free_port())
    inbox.passwords = []
    with serve_wsgi(upstream) as url, inbox:
        config = folder / "instances.toml"
        config.write_text(territory(url, inbox.port), encoding="utf-8")
        env = clean_env({**ENV, "RACCORD_DATABASE_URL": f"sqlite:///{folder / 'raccord.sqlite3'}",
                         "RACCORD_PLUGINS": "tests.adversarial.canary_plugin"})
        served = Served(config, env, workdir=folder, workers=2)
        try:
            yield Canary(folder, config, env, upstream, inbox, served, Outputs())
        finally:
            served.stop()


def _exercise(c: Canary) -> dict[str, int]:
    """Every kind of call; each answer recorded. Returns status by label."""
    s, out, statuses = c.served, c.outputs, {}

    def call(label: str, method: str, path: str, **kw: Any) -> Any:
        response = s.request(method, path, **kw)
        out.add(f"answer {label}", f"{response.status_code} {response.headers}\n{response.text}")
        statuses[label] = response.status_code
        return response

    wcs = ("demarches.metz.test", CANARY["metz_wcs_secret"])
    agents = ("backoffice.metropole.test", CANARY["metropole_agents_secret"])
    portail = {"X-API-Key": CANARY["metz_portail_key"]}
    admin = basic("admin", CANARY["admin_password"])
    # anonymous: open endpoints, good and failing upstreams; side effects refused
    for q in ("rue serpenoise", "echo rue", "html rue", "invalid rue"):
        call(f"anonymous search {q}", "GET", "/metz/adresse/search?" + urllib.parse.urlencode({"q": q}))
    call("anonymous ping", "GET", "/metz/probe/ping")
    call("anonymous services", "GET", "/metz/signalements/services")
    call("anonymous fetch", "GET", "/metz/probe/fetch?mode=ok")
    call("anonymous push", "POST", "/metz/probe/push", json={"key": "anon"})
    # API key (header; in the query as Passerelle accepts it)
    for mode in ("ok", "echo", "500", "slow"):
        call(f"apikey fetch {mode}", "GET", f"/metz/probe/fetch?mode={mode}", headers=portail)
    call("apikey in query", "GET", f"/metz/probe/fetch?mode=echo&apikey={CANARY['metz_portail_key']}")
    call("apikey boom", "GET", "/metz/probe/boom", headers=portail)
    call("apikey push", "POST", "/metz/probe/push", json={"key": "push-1"}, headers=portail)
    call("metropole apikey fetch", "GET", "/metropole/probe/fetch?mode=echo",
         headers={"X-API-Key": CANARY["metropole_portail_key"]})
    # signed
    for mode in ("ok", "echo", "500"):
        call(f"signed fetch {mode}", "GET", signed("/metz/probe/fetch", *wcs, f"mode={mode}"))
    call("signed boom", "GET", signed("/metz/probe/boom", *wcs))
    call("signed push", "POST", signed("/metz/probe/push", *wcs), json={"key": "push-2"})
    call("signed create", "POST", signed("/metz/signalements/create", *wcs),
         json={"service_code": "voirie", "external_id": EXTERNAL_ID, "description": "Nid-de-poule",
               "lat": 49.1193, "long": 6.1757, "email": "citoyen@example.org"})
    call("signed send", "POST", signed("/metz/courriel/send", *wcs),
         json={"to": "citoyen@example.org", "template": "status", "key": "mail-1",
               "context": {"service_name": "Voirie", "status_label": "traitée", "ref": EXTERNAL_ID}})
    call("agents fetch", "GET", signed("/metropole/probe/fetch", *agents, "mode=500"))
    # bad: a replayed signature, a forged one, another instance's secret, a wrong key or password,
    # a client off its instance
    once = signed("/metz/probe/fetch", *wcs, "mode=ok")
    call("replay first", "GET", once)
    call("replay second", "GET", once)
    call("forged", "GET", signed("/metz/probe/fetch", wcs[0], CANARY["metz_wcs_secret"] + "x", "mode=ok"))
    call("cross-instance secret", "GET", signed("/metz/probe/fetch", wcs[0], CANARY["metropole_agents_secret"],
                                                "mode=ok"))
    call("metropole client on metz", "GET", signed("/metz/probe/fetch", *agents, "mode=ok"))
    call("wrong key", "GET", "/metz/probe/fetch?mode=ok", headers={"X-API-Key": CANARY["metz_portail_key"] + "x"})
    call("key of another instance", "GET", "/metz/probe/fetch?mode=ok",
         headers={"X-API-Key": CANARY["metropole_portail_key"]})
    call("wrong basic", "GET", "/_status/", headers=basic("admin", CANARY["admin_password"] + "x"))
    call("admin off its instance", "GET", "/metz/probe/fetch?mode=ok", headers=admin)
    # documentation, anonymous and as a client
    for inst in ("metz", "metropole"):
        call(f"index {inst}", "GET", f"/{inst}/")
        call(f"openapi {inst}", "GET", f"/{inst}/openapi.json")
        call(f"openapi {inst} signed", "GET", signed(f"/{inst}/openapi.json", *(wcs if inst == "metz" else agents)))
        for profile in ("adresse", "probe", "signalements", "courriel"):
            call(f"doc {inst}/{profile}", "GET", f"/{inst}/{profile}/")
    return statuses


def _cli(c: Canary, *args: str, process: bool = False) -> str:
    """``raccord ARGS``: in a subprocess (as an administrator runs it), or in process
    through the same entry point (each subprocess pays ~1 s of start-up), its stdout,
    stderr and every log record captured."""
    if process:
        done = subprocess.run([RACCORD, "--config", str(c.config), *args], cwd=c.folder, env=c.env,
                              capture_output=True, text=True, timeout=120)
        text = f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    else:
        stdout, stderr = io.StringIO(), io.StringIO()
        handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        code: object = 0
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                main(["--config", str(c.config), *args])
        except SystemExit as exc:
            code = exc.code
        finally:
            root.removeHandler(handler)
        text = f"exit {code}\n{stdout.getvalue()}\n{stderr.getvalue()}"
    c.outputs.add("raccord " + " ".join(args), text)
    return text


def _jobs(c: Canary) -> list[dict[str, Any]]:
    engine = create_engine(c.env["RACCORD_DATABASE_URL"])
    meta = MetaData()
    meta.reflect(engine, only=["jobs"])
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(meta.tables["jobs"]))]
    engine.dispose()
    return rows


def _dump_database(c: Canary) -> None:
    engine = create_engine(c.env["RACCORD_DATABASE_URL"])
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            rows = conn.execute(select(table)).all()
            c.outputs.add(f"table {name}", "\n".join(repr(tuple(r)) for r in rows))
    engine.dispose()
    assert {"journal", "jobs", "nonces", "records"} <= set(meta.tables), sorted(meta.tables)


def test_no_canary_in_any_output(canary: Canary, monkeypatch: pytest.MonkeyPatch) -> None:
    c, out = canary, canary.outputs
    statuses = _exercise(c)
    # Pushes, the Open311 request queued on the first 503, the e-mail: delivered by the
    # background process (each push's first attempt failed, echoing its credentials).
    def delivered() -> bool:
        jobs = [j for j in _jobs(c) if j["kind"] == "task"]
        return len(jobs) >= 4 and all(j["status"] == "done" for j in jobs)
    assert statuses["signed create"] == statuses["signed send"] == 202, statuses
    wait_for(delivered, 60, lambda: repr([(j["name"], j["status"], j["error"]) for j in _jobs(c)]))
    job_ids = [j["id"] for j in _jobs(c)]
    admin = basic("admin", CANARY["admin_password"])
    page = c.served.get("/_status/", headers=admin)
    out.add("status page", page.text)
    statuses["status page"] = page.status_code
    for job_id in job_ids:
        out.add(f"status page job {job_id}", c.served.get(f"/_status/jobs/{job_id}", headers=admin).text)
        out.add(f"job status {job_id}", c.served.get(f"/metz/probe/jobs/{job_id}",
                                                     headers={"X-API-Key": CANARY["metz_portail_key"]}).text)
    out.add("metrics", c.served.get("/metrics").text)

    # The CLI, on the same territory and database.
    monkeypatch.chdir(c.folder)
    for name in ("RACCORD_DATABASE_URL", "RACCORD_PLUGINS", *ENV):
        monkeypatch.setenv(name, c.env[name])
    for args in (["check"], ["logs", "metz", "--format", "json"], ["call", "metz", "probe", "boom"],
                 ["jobs", "list"]):
        _cli(c, *args, process=True)
    for fmt in ("table", "json"):
        _cli(c, "check", "--format", fmt)
        for target in (["metz"], ["metz", "probe"], ["metz", "courriel"], ["metz", "signalements"],
                       ["metropole", "adresse"]):
            _cli(c, "explain", *target, "--format", fmt)
        _cli(c, "costs", "--format", fmt)
        _cli(c, "jobs", "list", "--format", fmt)
        for job_id in job_ids:
            _cli(c, "jobs", "show", str(job_id), "--format", fmt)
        for inst in ("metz", "metropole"):
            _cli(c, "logs", inst, "--limit", "500", "--format", fmt)
        _cli(c, "history", EXTERNAL_ID, "--format", fmt)
        _cli(c, "status", "--format", fmt)
    _cli(c, "list")
    _cli(c, "explain", "metz", "--deviations")
    for args in (["metz", "probe", "fetch", "mode=echo"], ["metz", "probe", "fetch", "mode=500"],
                 ["metz", "probe", "boom"], ["metz", "adresse", "search", "q=echo rue"],
                 ["--as", "metz.portail", "metz", "probe", "fetch", "mode=ok"],
                 ["metz", "signalements", "status", f"ref={EXTERNAL_ID}"]):
        _cli(c, "call", *args)
    # docs updates generated sections of the hand-written pages in place: on a copy.
    shutil.copytree(ROOT / "docs", c.folder / "docs-out")
    _cli(c, "docs", "--out", str(c.folder / "docs-out"))

    c.served.stop()
    out.add("serve stdout", c.served.out.read_bytes())
    out.add("serve stderr", c.served.err.read_bytes())
    _dump_database(c)
    secret_files = {c.folder / "secrets" / "portail.key", c.folder / "secrets" / "open311.key"}
    written = [p for p in c.folder.rglob("*") if p.is_file() and p not in secret_files and p != c.config]
    for path in written:
        out.add(f"file {path.relative_to(c.folder)}", path.read_bytes())

    leaks = out.leaks()
    assert leaks == [], "\n".join(f"{name} in {where}: …{_around(out.texts[where], needles()[name])}…"
                                  for where, name in leaks[:20])
    # The outputs are real: the CLI ran, on this territory and its database.
    cli = {k.removeprefix("raccord "): v for k, v in out.texts.items() if k.startswith("raccord ")}
    assert "ban:***@127.0.0.1" in cli["explain metz --format table"] and cli["check"].startswith("exit 0")
    assert "answered 401" in cli["call metz probe fetch mode=echo"] and "'X-Auth-Token': '***'" in \
        cli["call metz probe fetch mode=echo"]
    assert cli["logs metz --format json"].startswith("exit 0") and "/probe/echo" in cli["logs metz --format json"]
    assert EXTERNAL_ID in cli["history form-canary-42 --format json"]
    assert cli[f"docs --out {c.folder / 'docs-out'}"].count("wrote ") >= 3
    # The calls did what they should: served with good credentials, refused with bad ones.
    assert statuses["apikey fetch ok"] == statuses["signed fetch ok"] == statuses["replay first"] == 200
    assert statuses["anonymous search rue serpenoise"] == statuses["status page"] == 200
    assert statuses["apikey push"] == statuses["signed push"] == 202
    for refused in ("replay second", "forged", "cross-instance secret", "wrong key", "wrong basic",
                    "anonymous fetch", "anonymous push"):
        assert statuses[refused] == 401, (refused, statuses)
    for forbidden in ("metropole client on metz", "key of another instance", "admin off its instance"):
        assert statuses[forbidden] in (401, 403), (forbidden, statuses)
    assert statuses["apikey boom"] == statuses["signed boom"] == 500  # an incident, masked
    assert any("journal" in w for w in out.texts) and "incident" in c.served.text()

    # The canaries were in use: each upstream credential reached its server.
    up = c.upstream
    assert any(s.headers.get("Authorization") == f"Basic {needles()['ban_url_password (basic)']}"
               for s in up.requests_to("/ban/"))
    probed = up.requests_to("/probe/")
    assert all(s.headers.get("X-Auth-Token") == CANARY["probe_token"] for s in probed) and probed
    assert all(s.headers.get("Authorization") == f"Basic {needles()['probe_url_password (basic)']}" for s in probed)
    posted = [urllib.parse.parse_qs(s.body.decode()) for s in up.requests_to("/open311/v2/requests.json")
              if s.method == "POST"]
    assert len(posted) >= 2 and all(p.get("api_key") == [CANARY["open311_key"]] for p in posted), posted
    assert CANARY["smtp_password"].encode() in c.inbox.passwords and len(c.inbox.messages) == 1
    # …and some errors the servers echoed them in were journaled (masked).
    assert "raccord.upstream_error" in out.texts["table journal"]

    print(f"\ncanary suite: {len(needles())} canaries, {len(out.texts)} outputs "
          f"({sum(map(len, out.texts.values())):,} characters), {len(up.seen)} upstream requests, 0 canaries found")


def _around(text: str, value: str) -> str:
    i = text.find(value)
    return text[max(0, i - 120): i + len(value) + 40].replace("\n", " ")


def test_canaries_are_unique() -> None:
    assert len(set(needles().values())) == len(needles())
    assert all(v.isalnum() for v in CANARY.values())
