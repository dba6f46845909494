"""The lean request path prepares exactly what requests' own Session.request would."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from framework.outbound.session import BindingSession


class Capture(requests.adapters.BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((request, kwargs))
        response = requests.Response()
        response.status_code, response._content, response.request, response.url = 200, b"{}", request, request.url
        return response

    def close(self) -> None:
        pass


def sent_by(session: requests.Session, **kwargs: Any) -> tuple[requests.PreparedRequest, dict[str, Any]]:
    adapter = Capture()
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "raccord/0.1"
    session.proxies = {"https": "http://proxy.example:3128"}
    session.verify = "/etc/ssl/ca.pem"
    session.trust_env = False
    session.request(**kwargs)
    return adapter.sent[-1]


CALLS: list[dict[str, Any]] = [
    {"method": "GET", "url": "https://api.example/x", "params": {"q": "rue é", "n": [1, 2], "skip": None}},
    {"method": "GET", "url": "https://u:p%40ss@api.example/x?a=1", "params": "b=2"},
    {"method": "POST", "url": "https://api.example/x", "json": {"a": 1}, "headers": {"X-API-Key": "k",
                                                                                      "User-Agent": None}},
    {"method": "PUT", "url": "https://api.example/x", "data": {"f": "v"}, "timeout": (1, 2), "verify": True,
     "proxies": {"http": "http://other:1"}},
]


@pytest.mark.parametrize("call", CALLS)
def test_prepared_like_requests(call: dict[str, Any]) -> None:
    ours, our_kwargs = sent_by(BindingSession(), **call)
    theirs, their_kwargs = sent_by(requests.Session(), **call)
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)
    assert our_kwargs == their_kwargs


def test_the_session_cookies_are_sent_to_their_domain_only() -> None:
    session = BindingSession()
    adapter = Capture()
    session.mount("https://", adapter)
    session.cookies.set("sid", "abc", domain="api.example", path="/")
    session.get("https://api.example/next")
    session.get("https://elsewhere.example/")
    assert adapter.sent[0][0].headers["Cookie"] == "sid=abc"
    assert "Cookie" not in adapter.sent[1][0].headers


@responses.activate
def test_responses_still_mocks_it() -> None:
    responses.get("https://api.example/x", json={"ok": True})
    assert BindingSession().get("https://api.example/x", params={"a": "b"}).json() == {"ok": True}
    assert responses.calls[0].request.url == "https://api.example/x?a=b"


URLS = ["https://api.example/x", "https://api.example/x?a=1", "https://api.example/x#frag",
        "https://api.example/x?a=1#frag", "https://u:p@api.example:8443/a/b/", "https://API.Example",
        "https://bücher.example/ä ö", "https://api.example/a%2Fb", "https://api.example/bad%zz",
        "HTTPS://api.example/x?", "https://api.example/x?a=1&a=2", "https://api.example/x?b=é"]
PARAMS: list[Any] = [None, {}, {"q": "rue é", "n": [1, 2], "skip": None}, "b=2", [("k", "v")], {"a": "1"}]


@pytest.mark.parametrize("url", URLS)
def test_urls_are_prepared_like_requests_even_the_second_time(url: str) -> None:
    session = BindingSession()
    adapter = Capture()
    session.mount("https://", adapter)
    session.mount("HTTPS://", adapter)
    for params in PARAMS * 2:  # the second pass finds the URL prepared already
        session.get(url, params=params)
        expected = requests.PreparedRequest()
        expected.prepare_url(url, params)
        assert adapter.sent[-1][0].url == expected.url, params


def test_invalid_urls_fail_as_in_requests_every_time() -> None:
    session = BindingSession()
    for _ in range(2):
        with pytest.raises(requests.exceptions.InvalidURL):
            session.get("https://*.example/x", params={"a": "b"})
        with pytest.raises(requests.exceptions.MissingSchema):
            session.get("api.example/x")
