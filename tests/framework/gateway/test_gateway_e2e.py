"""The gateway under gunicorn: isolation matrix, API key and basic auth, error
envelopes, Accepted, metrics across workers."""

from __future__ import annotations

import pytest

from tests.framework.gateway import signer
from tests.framework.gateway.conftest import Live
from tests.framework.gateway.fakes import SECRETS

INSTANCES = ("alpha", "beta", "gamma")
GRANTED = {("alpha.wcs", "beta")}  # beta grants = ["alpha.wcs"]


def credentials(client: str) -> dict[str, object]:
    """Request kwargs authenticating as ``<instance>.<client>`` (wcs signs, portal has a key)."""
    inst, name = client.split(".")
    if name == "wcs":
        query = signer.sign(f"orig=wcs.{inst}.test", SECRETS[f"GW_{inst.upper()}_WCS"])
        return {"query": query, "headers": {}}
    return {"query": "", "headers": {"X-API-Key": SECRETS[f"GW_{inst.upper()}_KEY"]}}


CLIENTS = [f"{i}.{c}" for i in INSTANCES for c in ("wcs", "portal")]
STRICT = {"headers": {"X-API-Key": SECRETS["GW_ALPHA_STRICT"]}}  # alpha.strict: error_status = "http"


@pytest.mark.parametrize("target", INSTANCES)
@pytest.mark.parametrize("client", CLIENTS)
def test_isolation_matrix(live: Live, client: str, target: str) -> None:
    # An open endpoint serves valid credentials of any client, on any instance:
    # credentials never give less than none.
    creds = credentials(client)
    body = live.get(f"/{target}/echo/echo?{creds['query']}", headers=creds["headers"]).json()
    assert body["err"] == 0, body
    assert body["data"]["client"] == client and body["data"]["instance"] == target
    # Anything else is for the instance's own and granted clients only.
    reaches = client.split(".")[0] == target or (client, target) in GRANTED
    creds = credentials(client)
    resp = live.get(f"/{target}/echo/private?{creds['query']}", headers=creds["headers"])
    body = resp.json()
    if not reaches:
        assert resp.status_code == 403, body
        assert body["err_class"] == "raccord.forbidden"
        assert f"client {client} is not allowed on instance '{target}'" in body["err_desc"]
    elif client.endswith(".portal"):
        assert resp.status_code == 403 and "lacks permission 'can_access'" in body["err_desc"], body
    else:
        assert resp.status_code == 200 and body["data"]["client"] == client, body


@pytest.mark.parametrize(("client", "target", "status"), [
    ("alpha.wcs", "alpha", 200),     # has can_access
    ("alpha.portal", "alpha", 403),  # authenticated, lacks the permission
    ("alpha.wcs", "beta", 200),      # granted, carries its own permissions
    ("beta.portal", "beta", 403),
    ("gamma.wcs", "beta", 403),      # not granted
])
def test_permissions(live: Live, client: str, target: str, status: int) -> None:
    creds = credentials(client)
    resp = live.get(f"/{target}/echo/private?{creds['query']}", headers=creds["headers"])
    assert resp.status_code == status, resp.text


def test_anonymous_open_endpoint_but_not_private(live: Live) -> None:
    assert live.get("/gamma/echo/echo?q=a").json()["data"]["client"] is None
    resp = live.get("/gamma/echo/private")
    assert resp.status_code == 401 and "needs permission 'can_access'" in resp.json()["err_desc"]
    assert resp.headers["Content-Type"] == "application/json"


def test_api_key_header_query_and_wrong_key(live: Live) -> None:
    key = SECRETS["GW_BETA_KEY"]
    assert live.get("/beta/echo/echo", headers={"X-API-Key": key}).json()["data"]["client"] == "beta.portal"
    assert live.get(f"/beta/echo/echo?apikey={key}").json()["data"]["client"] == "beta.portal"
    resp = live.get("/beta/echo/echo", headers={"X-API-Key": key + "x"})
    assert resp.status_code == 401 and "unknown API key" in resp.json()["err_desc"]
    assert key not in resp.text


def test_basic_auth(live: Live) -> None:
    good = ("portal-gamma", SECRETS["GW_GAMMA_PASS"])
    assert live.get("/gamma/echo/echo", auth=good).json()["data"]["client"] == "gamma.portal"
    resp = live.get("/gamma/echo/echo", auth=("portal-gamma", "wrong"))
    assert resp.status_code == 401 and "wrong password" in resp.json()["err_desc"]
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert live.get("/alpha/echo/echo", auth=good).json()["data"]["client"] == "gamma.portal"  # open
    assert live.get("/alpha/echo/private", auth=good).status_code == 403


def test_client_whose_secret_is_unset_cannot_authenticate(live: Live) -> None:
    # alpha.ghost's key env var is unset: its key matches nothing, nothing crashes.
    resp = live.get("/alpha/echo/echo", headers={"X-API-Key": ""})
    assert resp.status_code == 200  # an empty header is no credentials
    resp = live.get("/alpha/echo/echo", headers={"X-API-Key": "anything"})
    assert resp.status_code == 401


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "err_class", "desc"), [
    ("GET", "/alpha/echo/echo?n=abc", {}, 400, "raccord.bad_request", "parameter 'n': expected an integer"),
    ("POST", "/alpha/echo/items", {"json": {"name": "x", "qty": "2"}}, 400, "raccord.bad_request",
     "body.qty: '2' is not of type 'integer'"),
    ("POST", "/alpha/echo/items", {"data": b"{nope", "headers": {"Content-Type": "application/json"}},
     400, "raccord.bad_request", "not valid JSON"),
    ("GET", "/alpha/echo/upstream", {}, 400, "raccord.bad_request", "missing parameter 'mode'"),
    ("GET", "/nowhere/echo/echo", {}, 404, "raccord.not_found", "unknown instance 'nowhere'"),
    ("GET", "/alpha/nope/echo", {}, 404, "raccord.not_found", "no profile 'nope'"),
    ("GET", "/alpha/echo/nope", {}, 404, "raccord.not_found", "has no endpoint 'nope'"),
    ("GET", "/alpha/echo/doc/abc", {}, 404, "raccord.not_found", "does not match"),
    ("GET", "/alpha/echo/jobs/abc", {"headers": {"X-API-Key": SECRETS["GW_ALPHA_KEY"]}}, 404,
     "raccord.not_found", "job"),
    ("GET", "/alpha/echo/jobs/1", {}, 401, "raccord.unauthorized", "for its clients"),
    ("GET", "/", {}, 404, "raccord.not_found", "no route"),
    ("DELETE", "/alpha/echo/echo", {}, 405, "raccord.method_not_allowed", "accepts GET, not DELETE"),
    ("POST", "/alpha/", {}, 405, "raccord.method_not_allowed", "accepts GET"),
    ("POST", "/alpha/echo/items", {"json": {"name": "x" * 2000, "qty": 1}}, 413,
     "raccord.payload_too_large", "over the limit of 1024 bytes"),
    # Connector-level errors: HTTP 200 + err 1 by default (Passerelle's semantics, see
    # test_wcs_replay.py); a client with error_status = "http" gets the class's status.
    ("GET", "/alpha/echo/upstream?mode=error", {}, 200, "raccord.upstream_error", "answered HTTP 500"),
    ("GET", "/alpha/echo/upstream?mode=html", {}, 200, "raccord.upstream_error", "instead of JSON"),
    ("GET", "/alpha/echo/upstream?mode=down", {}, 200, "raccord.unavailable", "maintenance"),
    ("GET", "/alpha/echo/upstream?mode=slow", {}, 200, "raccord.upstream_timeout", "did not answer"),
    ("GET", "/alpha/echo/upstream?mode=boom", {}, 200, "raccord.incident", "incident"),
    ("GET", "/alpha/echo/upstream?mode=error", STRICT, 502, "raccord.upstream_error", "answered HTTP 500"),
    ("GET", "/alpha/echo/upstream?mode=html", STRICT, 502, "raccord.upstream_error", "instead of JSON"),
    ("GET", "/alpha/echo/upstream?mode=down", STRICT, 503, "raccord.unavailable", "maintenance"),
    ("GET", "/alpha/echo/upstream?mode=slow", STRICT, 504, "raccord.upstream_timeout", "did not answer"),
    ("GET", "/alpha/echo/upstream?mode=boom", STRICT, 500, "raccord.incident", "incident"),
])
def test_error_envelopes(live: Live, method: str, path: str, kwargs: dict[str, object], status: int,
                         err_class: str, desc: str) -> None:
    resp = live.request(method, path, **kwargs)
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert body["err"] == 1 and body["err_class"] == err_class
    assert desc in body["err_desc"], body["err_desc"]
    assert "Traceback" not in resp.text and "s3cr3t" not in resp.text
    if status == 405:
        assert resp.headers["Allow"]
    assert resp.headers["X-Error-Code"] == "1"  # what w.c.s. reads first
    if body["err_class"] == "raccord.incident":
        incident = body["data"]["incident"]
        assert incident in live.log.read_text()  # logged server-side with the traceback


def test_accepted_is_202_with_job_url(live: Live) -> None:
    resp = live.get("/alpha/echo/later")
    assert resp.status_code == 202
    assert resp.json() == {"err": 0, "data": {"job_id": 42, "status": "queued", "url": "/alpha/echo/jobs/42"}}


def test_metadata_health_and_metrics(live: Live) -> None:
    index = live.get("/alpha/").json()["data"]
    assert index["profiles"]["echo"]["endpoints"] == ["doc", "echo", "form", "items", "later", "private", "upstream"]
    doc = live.get("/alpha/echo/").json()["data"]["endpoints"]["private"]
    assert doc["permission"] == "can_access" and doc["url"] == "/alpha/echo/private"
    assert live.get("/healthz").json() == {"err": 0, "data": {"status": "ok"}}
    assert live.get("/readyz").json()["data"]["database"] == "ok"
    for _ in range(6):
        live.get("/gamma/echo/echo?q=metrics")
    text = live.get("/metrics").text
    line = next(x for x in text.splitlines()
                if x.startswith("raccord_calls_total{") and 'instance="gamma"' in x and 'status="200"' in x
                and 'endpoint="echo"' in x)
    assert float(line.rsplit(" ", 1)[1]) >= 6  # summed over both worker processes
    assert "raccord_call_duration_seconds_bucket" in text
