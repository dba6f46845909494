"""The outbound policy against real slow and flaky servers on 127.0.0.1."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest

from framework.errors import ConfigError, UpstreamError, UpstreamTimeout
from framework.outbound import OutboundHTTP
from framework.outbound.policy import OutboundPolicy
from tests.framework.outbound.servers import Reply, ScriptedServer, refused_url


def client(**policy: Any) -> OutboundHTTP:
    policy.setdefault("retry_backoff", 0.01)
    return OutboundHTTP("metz/tickets", policy=OutboundPolicy(**policy))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[OutboundHTTP]:
    c = client(read_timeout=0.3, retries=2)
    yield c
    c.close()


def test_read_timeout_is_upstream_timeout_within_the_timeout(server: ScriptedServer,
                                                              http: OutboundHTTP) -> None:
    server.then(Reply(delay=1.5))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer within 0.3 s") as info:
        http.get_json(f"{server.url}/slow")
    elapsed = time.monotonic() - started
    assert info.value.status == 504
    assert 0.3 <= elapsed < 0.9  # one attempt: a slow server is not retried
    assert server.hits == 1


def test_connection_refused_is_retried_then_upstream_error() -> None:
    http = client(retries=2)
    waits: list[float] = []
    http.sleep = waits.append
    with pytest.raises(UpstreamError, match=r"cannot reach 127.0.0.1:\d+") as info:
        http.request("POST", f"{refused_url()}/push")  # never sent, so safe to retry even a POST
    assert info.value.status == 502
    assert len(waits) == 2
    http.close()


@pytest.mark.parametrize("status", [503, 502, 504, 429])
def test_transient_answer_then_200_is_retried_for_get(server: ScriptedServer, http: OutboundHTTP,
                                                      status: int) -> None:
    server.then(Reply(status=status, body={"err": "busy"}))
    assert http.get_json(f"{server.url}/x") == {"ok": True}
    assert server.hits == 2


def test_post_without_key_is_not_retried(server: ScriptedServer, http: OutboundHTTP) -> None:
    server.then(Reply(status=503))
    with pytest.raises(UpstreamError, match="answered HTTP 503"):
        http.request("POST", f"{server.url}/push", json={"a": 1})
    assert server.hits == 1


def test_post_with_idempotency_key_is_retried_with_the_same_key(server: ScriptedServer,
                                                                 http: OutboundHTTP) -> None:
    server.then(Reply(status=503), Reply(status=502))
    response = http.request("POST", f"{server.url}/push", json={"a": 1}, idempotency_key="job-42")
    assert response.status_code == 200
    assert [s.headers.get("Idempotency-Key") for s in server.seen] == ["job-42"] * 3


def test_retries_stop_after_the_configured_count(server: ScriptedServer) -> None:
    http = client(retries=3)
    server.default = Reply(status=503)
    with pytest.raises(UpstreamError, match="503"):
        http.get_json(f"{server.url}/x")
    assert server.hits == 4
    http.close()


def test_backoff_grows_exponentially_with_jitter(server: ScriptedServer) -> None:
    http = client(retries=3, retry_backoff=0.1, retry_backoff_max=10)
    waits: list[float] = []
    http.sleep = waits.append
    server.default = Reply(status=503)
    with pytest.raises(UpstreamError):
        http.get_json(f"{server.url}/x")
    # wait n = 0.1 * 2**n + uniform(0, 0.1)
    for n, wait in enumerate(waits):
        assert 0.1 * 2**n <= wait <= 0.1 * 2**n + 0.1
    http.close()


def test_retry_after_seconds_is_honoured(server: ScriptedServer, http: OutboundHTTP) -> None:
    server.then(Reply(status=503, headers={"Retry-After": "1"}))
    assert http.get_json(f"{server.url}/x") == {"ok": True}
    gap = server.seen[1].at - server.seen[0].at
    assert 0.95 <= gap < 1.5


def test_retry_after_http_date_is_honoured() -> None:
    http = client(retries=1)
    waits: list[float] = []
    http.sleep = waits.append
    with ScriptedServer() as server:
        when = email.utils.formatdate(time.time() + 3, usegmt=True)
        server.then(Reply(status=429, headers={"Retry-After": when}))
        assert http.get_json(f"{server.url}/x") == {"ok": True}
    assert len(waits) == 1 and 1.5 <= waits[0] <= 3.5
    http.close()


def test_retry_after_longer_than_the_cap_fails_at_once(server: ScriptedServer) -> None:
    http = client(retries=3, retry_after_max=2)
    server.then(Reply(status=503, headers={"Retry-After": "120"}))
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="503"):
        http.get_json(f"{server.url}/x")
    assert time.monotonic() - started < 0.5 and server.hits == 1
    http.close()


def test_4xx_is_neither_retried_nor_an_upstream_failure(server: ScriptedServer, http: OutboundHTTP) -> None:
    server.then(Reply(status=404, body={"detail": "no such ticket"}))
    assert http.request("GET", f"{server.url}/x").status_code == 404
    assert server.hits == 1


def test_tls_verification_cannot_be_turned_off(server: ScriptedServer, http: OutboundHTTP) -> None:
    with pytest.raises(ConfigError, match="TLS verification cannot be turned off") as info:
        http.request("GET", f"{server.url}/x", verify=False)
    assert "ca_bundle" in (info.value.hint or "")
    assert server.hits == 0


def test_environment_proxies_are_ignored(server: ScriptedServer, http: OutboundHTTP,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", refused_url())
    monkeypatch.setenv("NO_PROXY", "")
    assert http.get_json(f"{server.url}/x") == {"ok": True}


def test_explicit_proxy_is_used(server: ScriptedServer) -> None:
    # The scripted server plays the proxy: a proxied request carries the absolute URL.
    http = client(proxy=server.url)
    http.get_json("http://gru.metz.example/tickets")
    assert server.seen[0].path == "http://gru.metz.example/tickets"
    http.close()


def test_error_messages_never_show_credentials() -> None:
    http = client(retries=0)
    url = refused_url().replace("http://", "http://admin:s3cret@") + "/x?apikey=K3Y"
    with pytest.raises(UpstreamError) as info:
        http.get_json(url)
    assert "s3cret" not in info.value.describe() and "K3Y" not in info.value.describe()
    http.close()


def test_explicit_timeout_none_keeps_the_binding_timeout(server: ScriptedServer, http: OutboundHTTP) -> None:
    # requests reads timeout=None as "wait forever": every outbound call has a timeout.
    server.then(Reply(delay=1.5))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer within 0.3 s"):
        http.get_json(f"{server.url}/slow", timeout=None)
    assert time.monotonic() - started < 0.9
