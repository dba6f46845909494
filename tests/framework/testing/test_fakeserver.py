"""The fake business server: routes, recorded requests, failure modes."""

from __future__ import annotations

import time

import pytest
import requests

from framework.testing import FakeServer, Received, answer


def _get(url: str, **kw: object) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.get(url, timeout=5, **kw)  # type: ignore[arg-type]


def test_routes_answer_in_turn_and_requests_are_recorded(fake_server: FakeServer) -> None:
    fake_server.add("GET", "/tickets", json=[{"id": 1}])
    fake_server.add("GET", "/tickets", json=[{"id": 1}, {"id": 2}])
    assert _get(f"{fake_server.url}/tickets", params={"q": "a"}).json() == [{"id": 1}]
    assert len(_get(f"{fake_server.url}/tickets").json()) == 2
    assert len(_get(f"{fake_server.url}/tickets").json()) == 2  # the last answer repeats
    first = fake_server.received("GET", "/tickets")[0]
    assert isinstance(first, Received) and first.arg("q") == "a" and first.arg("missing") is None
    assert fake_server.received("POST") == []


def test_unknown_routes_are_404_and_recorded(fake_server: FakeServer) -> None:
    response = _get(f"{fake_server.url}/nowhere")
    assert response.status_code == 404 and "no route GET /nowhere" in response.json()["error"]
    assert [r.path for r in fake_server.received()] == ["/nowhere"]


def test_handler_computes_the_answer_from_the_request(fake_server: FakeServer) -> None:
    fake_server.add("POST", "/echo", handler=lambda r: answer(json={"got": r.json}, status=201))
    with requests.Session() as s:
        s.trust_env = False
        response = s.post(f"{fake_server.url}/echo", json={"a": 1}, timeout=5)
    assert response.status_code == 201 and response.json() == {"got": {"a": 1}}


def test_down_refuses_connections_until_up_on_the_same_port(fake_server: FakeServer) -> None:
    fake_server.add("GET", "/ping", body="pong", content_type="text/plain")
    port = fake_server.port
    fake_server.down()
    with pytest.raises(requests.ConnectionError):
        _get(f"{fake_server.url}/ping")
    fake_server.up()
    assert fake_server.port == port and _get(f"{fake_server.url}/ping").text == "pong"


def test_slow_and_garbage_modes(fake_server: FakeServer) -> None:
    fake_server.add("GET", "/ping", json={"ok": True})
    fake_server.delay = 0.3
    started = time.monotonic()
    assert _get(f"{fake_server.url}/ping").json() == {"ok": True}
    assert time.monotonic() - started >= 0.3
    fake_server.delay, fake_server.garbage = 0.0, True
    response = _get(f"{fake_server.url}/ping")
    assert response.headers["Content-Type"].startswith("text/html") and "<html>" in response.text
    fake_server.reset()
    assert fake_server.received() == [] and _get(f"{fake_server.url}/ping").status_code == 404


def test_a_route_may_be_slow_on_its_own() -> None:
    with FakeServer() as server:
        server.add("GET", "/slow", json={}, delay=0.2)
        started = time.monotonic()
        _get(f"{server.url}/slow")
        assert time.monotonic() - started >= 0.2
