"""The hostile upstream suite: every misbehaviour of tests/framework/outbound/hostile.py,
through the gateway and through ``raccord call``. Each answer is the JSON envelope with
the right status and a clear err_desc; no canary (URL password, API key) appears in an
answer, a log line or the journal; a queued push whose server redirected stays queued."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.test import Client

from framework.cli import cli
from framework.gateway.app import Gateway
from framework.plugins import make_plugin_manager
from framework.runtime.queue import get_job
from framework.runtime.worker import Worker
from framework.soap import cache
from framework.storage.schema import journal
from tests.connectors.soap.support import CALCULATOR_WSDL
from tests.framework.outbound import hostile_connector
from tests.framework.outbound.hostile import HostileServer
from tests.framework.outbound.hostile_connector import CANARIES, CLIENT_KEY, ENV

# mode → (target, status, err_class, what err_desc says)
CASES: dict[str, tuple[str, int, str, str]] = {
    "html": ("metz/probe/fetch", 502, "raccord.upstream_error", "answered text/html instead of JSON"),
    "empty": ("metz/probe/fetch", 502, "raccord.upstream_error", "instead of JSON"),
    "invalid": ("metz/probe/fetch", 502, "raccord.upstream_error", "instead of JSON"),
    "slow-headers": ("metz/probe/fetch", 504, "raccord.upstream_timeout", "did not send its whole answer within 1.5 s"),
    "dribble": ("metz/probe/fetch", 504, "raccord.upstream_timeout", "did not send its whole answer within 1.5 s"),
    "reset": ("metz/probe/fetch", 502, "raccord.upstream_error", "cannot reach 127.0.0.1:"),
    "huge": ("metz/probe/fetch", 502, "raccord.upstream_error", "than the 1,048,576-byte limit on an answer"),
    "redirect-other": ("metz/probe/fetch", 502, "raccord.upstream_error", "never follows a redirect to another host"),
    "redirect-307": ("metz/probe/send", 502, "raccord.upstream_error", "never re-sends a request body"),
    "nan": ("metz/probe/fetch", 502, "raccord.upstream_error", "answered JSON with NaN"),
    "deep": ("metz/probe/fetch", 502, "raccord.upstream_error", "nested more than 100 levels deep"),
    "soap-fault": ("soapfault/calc/call", 502, "raccord.soap_fault", "answered a SOAP fault to Add: soap:Server"),
    "xml-bomb": ("xmlbomb/calc/call", 502, "raccord.upstream_error", "XML declaring a DTD; refused"),
    "xxe": ("xxe/calc/call", 502, "raccord.upstream_error", "XML declaring a DTD; refused"),
}



@pytest.fixture
def config(hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    shutil.copy(CALCULATOR_WSDL, tmp_path / "calculator.wsdl")
    path = tmp_path / "instances.toml"
    path.write_text(hostile_connector.territory(hostile.url, tmp_path / "calculator.wsdl"), encoding="utf-8")
    cache.clear()
    return path


def gateway(config: Path) -> Gateway:
    from framework.gateway.app import make_app

    pm = make_plugin_manager(plugins=[hostile_connector])
    return make_app(config, database_url=f"sqlite:///{config.parent / 'gw.sqlite3'}", pm=pm)


def request_of(mode: str) -> tuple[str, str, dict[str, Any]]:
    target, *_ = CASES[mode]
    if target.endswith("/call"):
        return "POST", f"/{target}/Add", {"json": {"intA": 1, "intB": 2}, "headers": {"X-API-Key": CLIENT_KEY}}
    method = "POST" if target.endswith("/send") else "GET"
    path = f"{mode}/0.2" if mode in ("slow-headers", "dribble") else mode  # a byte every 0.2 s
    return method, f"/{target}?mode={path}", {"json": {"push": 1}} if method == "POST" else {}


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text
    assert "agent:" not in text  # the URL's user:password, whichever part


@pytest.mark.parametrize("mode", sorted(CASES))
def test_through_the_gateway(mode: str, config: Path, other: HostileServer,
                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gw = gateway(config)
    seen_before = len(other.seen)
    try:
        method, url, kwargs = request_of(mode)
        response = Client(gw).open(url, method=method, **kwargs)
        gw.raccord.outbound.journal.flush()
        gw.journal.flush()
        with gw.raccord.db.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(journal))]
    finally:
        gw.close()
    _, status, err_class, says = CASES[mode]
    assert response.status_code == status and response.content_type == "application/json"
    body = response.get_json()
    assert body["err"] == 1 and body["err_class"] == err_class, body
    assert says in body["err_desc"], body["err_desc"]
    assert_clean(response.get_data(as_text=True))
    assert_clean(caplog.text)
    assert_clean(json.dumps(rows, default=str))
    assert any(r["direction"] == "out" for r in rows)
    assert len(other.seen) == seen_before  # nothing reached the other host


@pytest.mark.parametrize("mode", sorted(CASES))
def test_through_raccord_call(mode: str, config: Path, caplog: pytest.LogCaptureFixture,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    import framework.loading

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(framework.loading, "make_plugin_manager",
                        lambda **kw: make_plugin_manager(plugins=[hostile_connector], **kw))
    monkeypatch.setenv("RACCORD_DATABASE_URL", f"sqlite:///{config.parent / 'cli.sqlite3'}")
    method, url, kwargs = request_of(mode)
    path, _, query = url.partition("?")
    instance, profile, endpoint, *rest = path.strip("/").split("/")
    args = ["--config", str(config), "call", instance, profile, endpoint, *([query] if query else []),
            "-X", method, *(["--path", rest[0]] if rest else [])]
    if "json" in kwargs:
        args += ["--body", json.dumps(kwargs["json"])]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    _, _status, err_class, says = CASES[mode]
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["err_class"] == err_class and says in body["err_desc"], body
    assert_clean(result.output + caplog.text)


def test_a_queued_push_whose_server_redirects_stays_queued(config: Path, hostile: HostileServer) -> None:
    gw = gateway(config)
    try:
        response = Client(gw).post("/metz/probe/push?mode=redirect-307", json={"ticket": 7})
        assert response.status_code == 202
        job_id = response.get_json()["data"]["job_id"]
        before = len(hostile.seen)
        assert Worker(gw.raccord).run_once() == 1
        job = get_job(gw.raccord.db, "metz", "probe", job_id)
    finally:
        gw.close()
    assert job is not None and job.status != "done"
    assert job.status in ("queued", "retrying", "failed"), job.status
    assert "never re-sends a request body" in str(job.public())
    assert len(hostile.seen) == before + 1  # the POST itself; never re-sent to the redirect target
