"""The gateway in process (Werkzeug test client): signature window boundaries with a
frozen clock, nonces across database connections (SQLite and PostgreSQL), overrides,
OpenAPI validity, journal, CLI commands."""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate
from werkzeug.test import Client

from framework import Call, endpoint, hookimpl
from framework.storage.schema import journal, nonces
from tests.framework.gateway import fakes, signer
from tests.framework.gateway.conftest import make_gateway

KEY = fakes.SECRETS["GW_ALPHA_WCS"]


def body(resp: Any) -> Any:
    return resp.get_json()


@pytest.mark.parametrize(("offset", "ok"), [(30, True), (-30, True), (31, False), (-31, False)])
def test_window_boundaries_with_frozen_clock(client: Client, monkeypatch: pytest.MonkeyPatch,
                                             offset: int, ok: bool) -> None:
    frozen = float(int(time.time()))
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(frozen + offset))
    monkeypatch.setattr("framework.gateway.signature.time.time", lambda: frozen)
    resp = client.get(f"/alpha/echo/private?{signer.sign('orig=wcs.alpha.test', KEY, ts=ts)}")
    assert (resp.status_code == 200) is ok, body(resp)


@pytest.mark.parametrize("ts", ["2026-11-28T10:00:00", "2026-11-28 10:00:00Z", "2026-13-28T10:00:00Z"])
def test_timestamp_must_parse_strictly(client: Client, ts: str) -> None:
    resp = client.get(f"/alpha/echo/private?{signer.sign('orig=wcs.alpha.test', KEY, ts=ts)}")
    assert resp.status_code == 401 and "timestamp" in body(resp)["err_desc"]


def test_nonce_refused_across_database_connections(territory_file: Path, database_url: str) -> None:
    """Two gateways with their own engines (as two processes have) share the store."""
    first, second = make_gateway(territory_file, database_url), make_gateway(territory_file, database_url)
    try:
        query = signer.sign("orig=wcs.alpha.test", KEY)
        assert Client(first).get(f"/alpha/echo/private?{query}").status_code == 200
        resp = Client(second).get(f"/alpha/echo/private?{query}")
        assert resp.status_code == 401 and "nonce already used" in body(resp)["err_desc"]
    finally:
        first.close()
        second.close()


def test_expired_nonces_are_cleaned_up(gateway: Any) -> None:
    import datetime as dt

    store = gateway.auth.nonces
    store.remember("o", "old")
    store.remember("o", "fresh")
    if store.behind is not None:  # SQLite: written behind the shared table
        assert store.behind.flush()
    with gateway.raccord.db.engine.connect() as conn:  # written raw on SQLite: same format
        seen = conn.execute(nonces.select().where(nonces.c.nonce == "fresh")).one().seen_at
    assert abs((seen.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).total_seconds()) < 5
    with gateway.raccord.db.engine.begin() as conn:
        conn.execute(nonces.update().where(nonces.c.nonce == "old")
                     .values(seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)))
    assert store.cleanup() == 1
    with gateway.raccord.db.engine.connect() as conn:
        assert [r.nonce for r in conn.execute(nonces.select())] == ["fresh"]


def test_refused_isolation_does_not_burn_the_nonce(client: Client) -> None:
    query = signer.sign("orig=wcs.gamma.test", fakes.SECRETS["GW_GAMMA_WCS"])
    assert client.get(f"/alpha/echo/private?{query}").status_code == 403
    assert client.get(f"/gamma/echo/private?{query}").status_code == 200
    # Once allowed, the nonce is spent: the same query is a replay.
    replay = client.get(f"/gamma/echo/echo?{query}")
    assert replay.status_code == 401 and "nonce already used" in replay.json["err_desc"]


# -- overrides --------------------------------------------------------------------------

def _override_module() -> types.ModuleType:
    module = types.ModuleType("contrib.gw_test_override")

    def echo(self: Any, call: Call) -> Any:
        return {"overridden": True}

    @endpoint(permission="open", description="Only in alpha.")
    def extra(self: Any, call: Call) -> Any:
        return "extra"

    @hookimpl
    def raccord_override(override: Any) -> None:
        override.replace_endpoint("echo", echo)
        override.add_endpoint(extra)

    module.raccord_override = raccord_override  # type: ignore[attr-defined]
    return module


def test_override_is_flagged_everywhere(upstream: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "contrib.gw_test_override", _override_module())
    text = fakes.territory_toml(upstream) + """
[instances.alpha.overrides.echo]
reason = "alpha's business server answers differently"
owner = "dsi@alpha.fr"
review_by = 2027-06-30
plugin = "contrib.gw_test_override"
"""
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    gw = make_gateway(config, f"sqlite:///{tmp_path / 'o.sqlite3'}")
    try:
        c = Client(gw)
        resp = c.get("/alpha/echo/echo")
        assert body(resp) == {"err": 0, "data": {"overridden": True}}
        assert resp.headers["X-Raccord-Override"] == "alpha/echo"
        assert c.get("/alpha/echo/extra").headers["X-Raccord-Override"] == "alpha/echo"
        assert c.post("/alpha/echo/echo").headers["X-Raccord-Override"] == "alpha/echo"  # a 405 too
        assert "X-Raccord-Override" not in c.get("/alpha/echo/later").headers
        assert "X-Raccord-Override" not in c.get("/beta/echo/echo").headers
        overrides = body(c.get("/alpha/"))["data"]["overrides"]
        assert overrides == [{"id": "alpha/echo", "reason": "alpha's business server answers differently",
                              "owner": "dsi@alpha.fr", "review_by": "2027-06-30",
                              "plugin": "contrib.gw_test_override", "settings": [], "access": []}]
        assert body(c.get("/beta/"))["data"]["overrides"] == []
        gw.journal.flush()
        with gw.raccord.db.engine.connect() as conn:
            rows = conn.execute(journal.select().order_by(journal.c.id)).all()
        assert [(r.endpoint, r.override) for r in rows] == [
            ("echo", "alpha/echo"), ("extra", "alpha/echo"), ("echo", "alpha/echo"), ("later", None),
            ("echo", None)]
        metrics = c.get("/metrics").get_data(as_text=True)
        assert 'endpoint="echo",instance="alpha",override="alpha/echo"' in metrics
        spec = body(c.get("/alpha/openapi.json"))
        assert spec["paths"]["/echo/echo"]["get"]["x-raccord-override"] == "alpha/echo"
    finally:
        gw.close()


# -- OpenAPI ----------------------------------------------------------------------------

def test_openapi_is_valid_3_1(client: Client) -> None:
    spec = client.get("/alpha/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    op = spec["paths"]["/echo/echo"]["get"]
    assert [(p["name"], p["schema"]["type"]) for p in op["parameters"]] == [("q", "string"), ("n", "integer")]
    assert spec["paths"]["/echo/private"]["get"]["security"]
    assert spec["paths"]["/echo/items"]["post"]["requestBody"]["content"]["application/json"]["schema"] \
        == fakes.ITEM_SCHEMA
    assert "/echo/doc/{path}" in spec["paths"]


def test_journal_row_for_each_endpoint_call(client: Client, gateway: Any) -> None:
    client.get("/alpha/echo/echo?q=a", headers={"X-API-Key": fakes.SECRETS["GW_ALPHA_KEY"]})
    client.get("/alpha/echo/upstream?mode=boom")
    client.get("/alpha/")  # metadata is not journaled
    gateway.journal.flush()  # rows are written in batches, off the request thread
    with gateway.raccord.db.engine.connect() as conn:
        rows = [r._mapping for r in conn.execute(journal.select().order_by(journal.c.id))]
    assert [(r["endpoint"], r["client"], r["status"], r["err_class"]) for r in rows] == [
        ("echo", "alpha.portal", 200, None), ("upstream", None, 200, "raccord.incident")]
    assert rows[1]["incident"] and rows[0]["method"] == "GET" and rows[0]["url"] == "/alpha/echo/echo?q=a"


# -- CLI ----------------------------------------------------------------------------------

def test_sign_command_output_is_accepted(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from framework.cli import cli

    result = CliRunner().invoke(cli, ["sign", "http://gw/alpha/echo/private?q=1", "--orig", "wcs.alpha.test",
                                      "--secret-env", "GW_ALPHA_WCS"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://gw/alpha/echo/private?q=1&orig=wcs.alpha.test&algo=sha256&timestamp=")
    assert KEY not in url
    assert client.get(url.removeprefix("http://gw")).status_code == 200


def test_sign_command_without_secret_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from framework.cli import cli

    monkeypatch.delenv("GW_NOPE", raising=False)
    result = CliRunner().invoke(cli, ["sign", "http://gw/x", "--orig", "o", "--secret-env", "GW_NOPE"])
    assert result.exit_code == 2 and "GW_NOPE is not set" in result.output


# -- nonce store under SQLite write contention -----------------------------------------------

def _hold_write_lock(db_url: str, seconds: float) -> Any:
    """Another connection (as another process would) holding SQLite's write lock."""
    import sqlite3
    import threading

    path = db_url.removeprefix("sqlite:///")
    started = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(5)
    return thread


def test_a_locked_database_does_not_hold_up_a_nonce(gateway: Any) -> None:
    # The shared table decides; the database gets the nonce once it is free again.
    holder = _hold_write_lock(str(gateway.raccord.db.engine.url), 0.3)
    t0 = time.monotonic()
    gateway.auth.nonces.remember("o", "while-locked")
    assert time.monotonic() - t0 < 0.2
    holder.join()


def test_without_the_table_a_nonce_write_waits_for_another_writer(gateway: Any) -> None:
    gateway.auth.nonces.table = None  # SQLite in memory: each nonce is inserted
    holder = _hold_write_lock(str(gateway.raccord.db.engine.url), 0.1)
    t0 = time.monotonic()
    gateway.auth.nonces.remember("o", "while-locked")
    assert time.monotonic() - t0 >= 0.05
    holder.join()


def test_nonce_store_busy_too_long_is_503(gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from framework.errors import Unavailable

    gateway.auth.nonces.table = None  # SQLite in memory: each nonce is inserted
    monkeypatch.setattr("framework.gateway.nonces.MAX_WAIT", 0.05)
    holder = _hold_write_lock(str(gateway.raccord.db.engine.url), 0.3)
    with pytest.raises(Unavailable, match="nonce store is busy"):
        gateway.auth.nonces.remember("o", "too-long")
    holder.join()


def test_job_status_route_dispatches_to_the_runtime_queue(client: Client, gateway: Any) -> None:
    from framework.runtime.queue import enqueue

    alpha, beta = ({"X-API-Key": fakes.SECRETS[f"GW_{i}_KEY"]} for i in ("ALPHA", "BETA"))
    job = enqueue(gateway.raccord.db, "alpha", "echo", "push", {"email": "private@example.org"})
    resp = client.get(f"/alpha/echo/jobs/{job}", headers=alpha)
    data = body(resp)["data"]
    assert resp.status_code == 200 and data["id"] == job and data["status"] == "queued"
    assert "private@example.org" not in resp.get_data(as_text=True)  # no payload shown
    assert client.get(f"/alpha/echo/jobs/{job}").status_code == 401  # ids are sequential: clients only
    assert client.get(f"/alpha/echo/jobs/{job}", headers=beta).status_code == 403  # beta's key on alpha
    assert client.get(f"/beta/echo/jobs/{job}", headers=beta).status_code == 404  # another instance sees nothing
    assert client.get("/alpha/echo/jobs/999999", headers=alpha).status_code == 404


def test_documentation_is_public_but_given_credentials_must_be_valid(client: Client) -> None:
    assert client.get("/alpha/").status_code == 200
    assert client.get("/alpha/openapi.json").status_code == 200
    query = signer.sign("orig=wcs.alpha.test", KEY)
    assert client.get(f"/alpha/echo/?{query}").status_code == 200
    replayed = client.get(f"/alpha/echo/?{query}")
    assert replayed.status_code == 401 and "nonce already used" in body(replayed)["err_desc"]
    forged = client.get(f"/alpha/?{query[:-6]}AAAA%3D")
    assert forged.status_code == 401 and "does not match" in body(forged)["err_desc"]
    assert client.get("/alpha/openapi.json", headers={"X-API-Key": "wrong"}).status_code == 401


def test_overlong_profile_or_method_does_not_lose_other_journal_rows(territory_file: Path,
                                                                    database_url: str) -> None:
    """A scanner's 70-character profile or 12-letter method must not fail the batch
    insert (PostgreSQL enforces column lengths) and with it everyone's rows."""
    gw = make_gateway(territory_file, database_url)
    try:
        client = Client(gw)
        client.get("/alpha/echo/echo?q=a", headers={"X-API-Key": fakes.SECRETS["GW_ALPHA_KEY"]})
        assert client.get(f"/alpha/{'p' * 70}/echo").status_code == 404
        assert client.open("/alpha/echo/echo", method="PROPFINDXYZAB").status_code == 405
        assert gw.journal.flush() == 3
        with gw.raccord.db.engine.connect() as conn:
            rows = [r._mapping for r in conn.execute(journal.select().order_by(journal.c.id))]
        assert [r["status"] for r in rows] == [200, 404, 405]
    finally:
        gw.close()


def test_journal_url_redacts_keys_when_the_path_holds_a_question_mark(client: Client, gateway: Any) -> None:
    key = fakes.SECRETS["GW_ALPHA_KEY"]
    client.get(f"/alpha/echo/doc/1%3Fx?apikey={key}&q=1")
    client.get(f"/alpha/echo/doc/1%23x?apikey={key}")
    gateway.journal.flush()
    with gateway.raccord.db.engine.connect() as conn:
        urls = [r.url for r in conn.execute(journal.select().order_by(journal.c.id))]
    assert len(urls) == 2 and all(key not in u for u in urls), urls
    assert urls[0].endswith("?apikey=***&q=1") and urls[1].endswith("?apikey=***"), urls


def test_deeply_nested_json_body_is_a_400_not_an_incident(client: Client) -> None:
    resp = client.post("/alpha/echo/items", data=b"[" * 1000,
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and body(resp)["err_class"] == "raccord.bad_request", body(resp)
    assert "JSON" in body(resp)["err_desc"]


def test_an_empty_secret_is_not_a_secret(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """``FOO=${FOO}`` in a compose file gives an empty variable when FOO is unset: an
    HMAC with an empty key, or basic auth with an empty password, anyone can produce."""
    import base64

    for name in ("GW_ALPHA_WCS", "GW_ALPHA_PASS", "GW_ALPHA_KEY"):
        monkeypatch.setenv(name, "")
    resp = client.get(f"/alpha/echo/private?{signer.sign('orig=wcs.alpha.test', '')}")
    assert resp.status_code == 401 and "not configured" in body(resp)["err_desc"], body(resp)
    token = base64.b64encode(b"portal-alpha:").decode()
    resp = client.get("/alpha/echo/echo", headers={"Authorization": f"Basic {token}"})
    assert resp.status_code == 401, body(resp)


@pytest.mark.parametrize("job_id", ["%C2%B2", "9" * 30])
def test_odd_job_ids_are_a_404_not_an_incident(client: Client, job_id: str) -> None:
    # "²".isdigit() is True but int("²") fails; SQLite cannot bind an int over 64 bits.
    resp = client.get(f"/alpha/echo/jobs/{job_id}", headers={"X-API-Key": fakes.SECRETS["GW_ALPHA_KEY"]})
    assert resp.status_code == 404 and body(resp)["err_class"] == "raccord.not_found", body(resp)


def test_a_credential_shared_by_two_instances_authenticates_on_each(upstream: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # One key, one username/password and one orig (with different algorithms) used by
    # clients of two instances: each instance recognises its own client.
    monkeypatch.setenv("SHARED_KEY", "one-key-for-two")
    text = fakes.territory_toml(upstream) + """
[instances.beta.clients.shared]
apikey = { env = "SHARED_KEY" }
basic = { username = "shared", password = { env = "SHARED_KEY" } }
signature = { orig = "shared.test", secret = { env = "SHARED_KEY" }, algos = ["sha256"] }
permissions = ["can_access"]

[instances.gamma.clients.shared]
apikey = { env = "SHARED_KEY" }
basic = { username = "shared", password = { env = "SHARED_KEY" } }
signature = { orig = "shared.test", secret = { env = "SHARED_KEY" }, algos = ["sha512"] }
permissions = ["can_access"]
"""
    config = tmp_path / "instances.toml"
    config.write_text(text, encoding="utf-8")
    gw = make_gateway(config, f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    try:
        client = Client(gw)
        for inst in ("beta", "gamma"):
            resp = client.get(f"/{inst}/echo/private", headers={"X-API-Key": "one-key-for-two"})
            assert resp.status_code == 200 and body(resp)["data"]["client"] == f"{inst}.shared"
            resp = client.get(f"/{inst}/echo/private", auth=("shared", "one-key-for-two"))
            assert resp.status_code == 200 and body(resp)["data"]["client"] == f"{inst}.shared"
        signed = client.get(f"/gamma/echo/private?{signer.sign('orig=shared.test', 'one-key-for-two', algo='sha512')}")
        assert signed.status_code == 200 and body(signed)["data"]["client"] == "gamma.shared"
        sha1 = client.get(f"/gamma/echo/private?{signer.sign('orig=shared.test', 'one-key-for-two', algo='sha1')}")
        assert sha1.status_code == 403 and "not allowed" in body(sha1)["err_desc"]
    finally:
        gw.close()
