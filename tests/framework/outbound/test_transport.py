"""The lean transport (framework/outbound/transport.py): taken in production, answers as
requests' own path gives them, TLS verified, proxies and mocks left to requests."""

from __future__ import annotations

import gzip
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, PoolManager

from framework.errors import UpstreamError, UpstreamTimeout
from framework.outbound import OutboundHTTP
from framework.outbound import transport as lean
from framework.outbound.policy import OutboundPolicy
from tests.framework.outbound.hostile import HostileServer
from tests.framework.outbound.servers import ScriptedServer, self_signed, tls_context

BODY = {"items": list(range(50)), "name": "rue de la Paix é"}
ENCODED = json.dumps(BODY).encode()


class Upstream:
    """An HTTP/1.1 keep-alive server answering each path its way; it records the
    client port of every request (one port: one kept-alive connection)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.ports: list[int] = []
        self.paths: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 65536
            disable_nagle_algorithm = True

            def _answer(self, head: bool = False) -> None:
                upstream.ports.append(self.client_address[1])
                upstream.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                received = self.rfile.read(length) if length else b""
                path = self.path.partition("?")[0]
                if path == "/chunked":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(ENCODED), 7):
                        piece = ENCODED[start:start + 7]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if path == "/nothing":
                    self.send_response(204)
                    self.end_headers()
                    return
                if path == "/redirect":
                    self._send(302, b"", {"Location": "/json?moved=1"})
                    return
                if path == "/echo":
                    self._send(200, json.dumps({"method": self.command, "body": received.decode(),
                                                "headers": dict(self.headers)}).encode(), {})
                    return
                extra = {"Set-Cookie": "sid=abc; Path=/"} if path == "/cookie" else {}
                if path == "/gzip":
                    self._send(200, gzip.compress(ENCODED), {"Content-Encoding": "gzip"}, head)
                else:
                    self._send(200, ENCODED, extra, head)

            def _send(self, status: int, data: bytes, headers: dict[str, str], head: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def do_HEAD(self) -> None:
                self._answer(head=True)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme, host = ("https", "localhost") if tls else ("http", "127.0.0.1")
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture
def http() -> Iterator[OutboundHTTP]:
    client = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
    yield client
    client.close()


@pytest.fixture
def requests_own(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every pass through requests' own per-call machinery; the lean path
    takes none of them."""
    passed: list[str] = []

    def spy(name: str, original: Any) -> Any:
        def spying(*args: Any, **kwargs: Any) -> Any:
            passed.append(name)
            return original(*args, **kwargs)
        return spying

    for owner, name in ((requests.Session, "send"), (HTTPAdapter, "cert_verify"),
                        (HTTPAdapter, "build_response"), (HTTPAdapter, "request_url"),
                        (HTTPAdapter, "get_connection_with_tls_context"),
                        (PoolManager, "connection_from_host"), (HTTPConnectionPool, "urlopen")):
        monkeypatch.setattr(owner, name, spy(f"{owner.__name__}.{name}", getattr(owner, name)))
    return passed


def adapter_of(http: OutboundHTTP) -> lean.LeanAdapter:
    adapter = http.session.get_adapter("http://x/")
    assert isinstance(adapter, lean.LeanAdapter)
    return adapter


def test_production_calls_take_the_lean_path(upstream: Upstream, http: OutboundHTTP,
                                             requests_own: list[str]) -> None:
    assert http.get_json(f"{upstream.url}/json", params={"q": "x"}) == BODY
    assert http.post_json(f"{upstream.url}/echo", json={"a": 1})["body"] == '{"a": 1}'
    assert requests_own == []  # neither Session.send nor the adapter's own helpers
    # The direct transport (http.client): no urllib3 pool at all.
    assert [origin for origin, _ in adapter_of(http)._direct] == [upstream.url]
    assert adapter_of(http)._pools == {} and len(adapter_of(http).poolmanager.pools) == 0


def test_a_mocked_transport_is_left_to_responses(http: OutboundHTTP, requests_own: list[str]) -> None:
    with responses.RequestsMock() as mock:
        mock.get("https://api.example/x", json={"mocked": True})
        assert http.get_json("https://api.example/x", params={"a": "b"}) == {"mocked": True}
        assert mock.calls[0].request.url == "https://api.example/x?a=b"
    assert "Session.send" in requests_own
    assert adapter_of(http)._pools == {}


def test_an_adapter_mounted_by_a_connector_is_used(upstream: Upstream, http: OutboundHTTP) -> None:
    class Canned(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            response = requests.Response()
            response.status_code, response._content = 200, b'{"canned": true}'
            response.request, response.url = request, request.url or ""
            return response

        def close(self) -> None:
            pass

    http.session.mount(upstream.url, Canned())
    assert http.get_json(f"{upstream.url}/json") == {"canned": True}


URLS = ["/json", "/json?a=1#fragment", "/chunked", "/gzip", "/nothing", "/redirect", "/cookie"]


@pytest.mark.parametrize("path", URLS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_answers_are_those_of_requests_own_path(upstream: Upstream, http: OutboundHTTP, path: str,
                                                method: str, requests_own: list[str]) -> None:
    ours = http.request(method, upstream.url + path)
    assert requests_own == []
    plain = requests.Session()
    plain.trust_env = False
    theirs = plain.request(method, upstream.url + path, timeout=5)
    plain.close()
    assert (ours.status_code, ours.content, ours.url, ours.encoding, ours.reason) == (
        theirs.status_code, theirs.content, theirs.url, theirs.encoding, theirs.reason)
    assert {k: v for k, v in ours.headers.items() if k != "Date"} == {
        k: v for k, v in theirs.headers.items() if k != "Date"}
    assert [r.status_code for r in ours.history] == [r.status_code for r in theirs.history]
    assert ours.cookies.get_dict() == theirs.cookies.get_dict()
    if method == "GET" and path not in ("/nothing",):
        assert ours.json() == BODY


def test_keep_alive_connections_are_reused(upstream: Upstream, http: OutboundHTTP) -> None:
    before = len(upstream.ports)
    for path in ("/json", "/chunked", "/gzip", "/nothing", "/json"):
        http.request("GET", upstream.url + path)
    http.request("HEAD", upstream.url + "/json")
    assert len(set(upstream.ports[before:])) == 1


def test_cookies_set_by_the_server_are_sent_back(upstream: Upstream, http: OutboundHTTP) -> None:
    http.request("GET", f"{upstream.url}/cookie")
    assert http.session.cookies.get("sid") == "abc"
    sent = http.get_json(f"{upstream.url}/echo")["headers"]
    assert sent["Cookie"] == "sid=abc"


def test_what_is_sent_is_what_requests_sends(upstream: Upstream, http: OutboundHTTP) -> None:
    ours = http.request("PUT", f"{upstream.url}/echo?x=1", data={"f": "v é"},
                        headers={"X-API-Key": "k"}, auth=("u", "p")).json()
    plain = requests.Session()
    plain.trust_env = False
    plain.headers["User-Agent"] = "raccord/0.1"
    theirs = plain.put(f"{upstream.url}/echo?x=1", data={"f": "v é"}, headers={"X-API-Key": "k"},
                       auth=("u", "p"), timeout=5).json()
    plain.close()
    assert ours == theirs


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@needs_openssl
def test_tls_is_verified_with_the_binding_ca_bundle_built_once(tmp_path: Path,
                                                               requests_own: list[str]) -> None:
    cert, key = self_signed(tmp_path)
    with Upstream(tls_context(cert, key)) as server:
        refusing = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
        with pytest.raises(UpstreamError, match="TLS certificate raccord cannot verify"):
            refusing.get_json(f"{server.url}/json")  # certifi's bundle: not trusted
        refusing.close()

        http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, ca_bundle=str(cert)))
        for _ in range(3):
            assert http.get_json(f"{server.url}/json") == BODY
        assert requests_own == []
        adapter = adapter_of(http)
        (pool,) = adapter._direct.values()
        assert pool is not None and pool.context is lean.verifying_context(str(cert))  # built once
        assert pool.context.verify_mode == ssl.CERT_REQUIRED and pool.context.check_hostname
        assert len(set(server.ports)) == 1
        http.close()


@needs_openssl
def test_tls_hostname_is_checked_on_the_lean_path(tmp_path: Path) -> None:
    cert, key = tmp_path / "other.pem", tmp_path / "other.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=other.example",
                    "-addext", "subjectAltName=DNS:other.example"],
                   check=True, capture_output=True, timeout=60)
    with Upstream(tls_context(cert, key)) as server:
        http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, ca_bundle=str(cert)))
        with pytest.raises(UpstreamError, match="TLS certificate raccord cannot verify"):
            http.get_json(f"{server.url}/json")  # trusted CA, but not localhost's certificate
        http.close()


def test_a_proxy_goes_through_requests_own_helpers(requests_own: list[str]) -> None:
    # The scripted server plays the proxy: a proxied request carries the absolute URL.
    with ScriptedServer() as proxy:
        http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, proxy=proxy.url))
        assert http.get_json("http://gru.metz.example/tickets?id=1") == {"ok": True}
        assert proxy.seen[0].path == "http://gru.metz.example/tickets?id=1"
        assert "HTTPAdapter.get_connection_with_tls_context" in requests_own
        assert adapter_of(http)._pools == {}
        http.close()


def test_an_unknown_scheme_or_bad_url_fails_as_requests_fails() -> None:
    session = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0)).session
    with pytest.raises(requests.exceptions.InvalidSchema):
        session.get("ftp://example.org/x")
    with pytest.raises(requests.exceptions.InvalidURL):
        session.get("http://exa mple.org:99999/x", timeout=1)


def test_the_pools_of_one_adapter_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean, "MAX_POOLS", 2)
    adapter = lean.LeanAdapter()
    for port in (1, 2, 3):
        request = requests.Request("GET", f"http://127.0.0.1:{port}/").prepare()
        adapter.get_connection_with_tls_context(request, True)
    assert [origin for origin, _ in adapter._pools] == ["http://127.0.0.1:2", "http://127.0.0.1:3"]
    adapter.close()


@pytest.mark.parametrize("mode", ["dribble", "slow-headers"])
def test_the_deadline_watchdog_cuts_the_lean_path_sockets(hostile: HostileServer, mode: str,
                                                           requests_own: list[str]) -> None:
    http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, read_timeout=30, total_timeout=0.6))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="total_timeout"):
        http.get_json(f"{hostile.url}/{mode}?every=0.2")
    assert time.monotonic() - started < 2
    assert requests_own == []
    http.close()


def test_the_size_cap_holds_on_the_lean_path(hostile: HostileServer, requests_own: list[str]) -> None:
    http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, max_answer_bytes=64 * 1024))
    with pytest.raises(UpstreamError, match="65,536-byte limit"):
        http.get_json(f"{hostile.url}/huge-unannounced")
    assert requests_own == []
    http.close()
