"""The direct transport (framework/outbound/direct.py, wire.py): requests' semantics over
http.client — answers, decoding under the size cap, errors as requests raises them,
the deadline over every socket, TLS verified, kept-alive connections pooled safely."""

from __future__ import annotations

import base64
import gzip
import io
import shutil
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from urllib3 import HTTPConnectionPool

from framework.errors import UpstreamError, UpstreamTimeout
from framework.outbound import OutboundHTTP
from framework.outbound import deadline as deadlines
from framework.outbound import transport as lean
from framework.outbound.answer import CHUNK, AnswerTooLarge
from framework.outbound.policy import OutboundPolicy
from tests.framework.outbound.servers import self_signed, tls_context
from tests.framework.outbound.wire_server import WireServer, answer, keep_alive, read_request

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture
def urlopen_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request that went through urllib3 (the direct path sends none)."""
    calls: list[str] = []
    original = HTTPConnectionPool.urlopen

    def spying(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(url)
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", spying)
    return calls


@pytest.fixture
def http() -> Iterator[OutboundHTTP]:
    client = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
    yield client
    client.close()


def adapter_of(http: OutboundHTTP) -> lean.LeanAdapter:
    adapter = http.session.get_adapter("http://x/")
    assert isinstance(adapter, lean.LeanAdapter)
    return adapter


def only_pool(http: OutboundHTTP) -> Any:
    (pool,) = adapter_of(http)._direct.values()
    assert pool is not None
    return pool


# -- answers -----------------------------------------------------------------------------

def test_the_response_is_what_requests_builds(http: OutboundHTTP, urlopen_calls: list[str]) -> None:
    body = "{\"name\": \"Metz é\"}".encode("iso-8859-1")
    reply = answer(201, body, Content_Type="application/json; charset=ISO-8859-1", X_Dup="a",
                   x_dup="b", Set_Cookie="sid=1; Path=/")
    with WireServer(keep_alive(reply)) as server:
        ours = http.session.get(f"{server.url}/x?q=1", timeout=5)
        plain = requests.Session()
        theirs = plain.get(f"{server.url}/x?q=1", timeout=5)
        plain.close()
    assert len(urlopen_calls) == 1  # the plain session's: ours skipped urllib3
    assert (ours.status_code, ours.reason, ours.encoding, ours.text, ours.url) == (
        theirs.status_code, theirs.reason, theirs.encoding, theirs.text, theirs.url)
    assert dict(ours.headers) == dict(theirs.headers)
    assert ours.headers["x-dup"] == "a, b" and ours.headers["CONTENT-TYPE"].startswith("application/json")
    assert ours.request.url == ours.url and ours.elapsed.total_seconds() > 0
    assert ours.cookies.get("sid") == "1" and http.session.cookies.get("sid") == "1"


def test_the_body_streams_through_iter_content(http: OutboundHTTP) -> None:
    body = bytes(range(256)) * 300
    with WireServer(keep_alive(answer(200, body))) as server:
        response = http.session.get(f"{server.url}/x", timeout=5, stream=True)
        chunks = list(response.iter_content(CHUNK))
    assert b"".join(chunks) == body and max(map(len, chunks)) <= CHUNK


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("gzip", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),  # two members
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
])
def test_compressed_answers_are_decoded(http: OutboundHTTP, encoding: str, compress: Any) -> None:
    data = b'{"items": [' + b"1, " * 5000 + b"1]}"
    with WireServer(keep_alive(answer(200, compress(data), Content_Encoding=encoding))) as server:
        assert http.request("GET", f"{server.url}/x").content == data
        assert server.seen[0]["accept-encoding"] == "gzip, deflate"


def test_a_gzip_bomb_costs_the_cap_plus_one_chunk(http: OutboundHTTP) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in ~64 KiB
    with WireServer(keep_alive(answer(200, bomb, Content_Encoding="gzip"))) as server:
        response = http.session.get(f"{server.url}/x", timeout=5, stream=True)
        sizes = []
        for chunk in response.iter_content(CHUNK):
            sizes.append(len(chunk))
            if sum(sizes) > 1024 * 1024:
                break
        response.close()
        assert max(sizes) <= CHUNK  # never more decoded at once than asked for
        assert only_pool(http).idle == 0  # the abandoned connection was closed, not pooled

        capped = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, max_answer_bytes=1024 * 1024))
        with pytest.raises(AnswerTooLarge, match="1,048,576-byte limit"):
            capped.request("GET", f"{server.url}/x")
        capped.close()


def test_a_corrupt_gzip_body_is_a_content_decoding_error(http: OutboundHTTP) -> None:
    broken = gzip.compress(b'{"a": 1}' * 100)[:20] + b"garbage" * 10
    with WireServer(keep_alive(answer(200, broken, Content_Encoding="gzip"))) as server:
        with pytest.raises(requests.exceptions.ContentDecodingError):
            http.session.get(f"{server.url}/x", timeout=5)
        with pytest.raises(UpstreamError, match="broke off its answer \\(ContentDecodingError\\)"):
            http.request("GET", f"{server.url}/x")


def test_chunked_answers_are_decoded_and_a_broken_chunk_is_an_error(http: OutboundHTTP) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    good = head + b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n"
    with WireServer(keep_alive(good)) as server:
        assert http.get_json(f"{server.url}/x") == {"a": 1}
        assert http.get_json(f"{server.url}/x") == {"a": 1}
        assert len(set(server.ports)) == 1  # a chunked answer read to its end: kept alive

    def broken(sock: socket.socket, server: WireServer) -> None:
        read_request(sock)
        sock.sendall(head + b"5\r\n{\"a\":\r\nzz\r\n")
    with WireServer(broken) as server, pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.session.get(f"{server.url}/x", timeout=5)


def test_a_body_cut_short_is_a_chunked_encoding_error(http: OutboundHTTP) -> None:
    def short(sock: socket.socket, server: WireServer) -> None:
        read_request(sock)
        sock.sendall(answer(200, b'{"a": 1}')[:-3])  # Content-Length says 3 more bytes
    with WireServer(short) as server:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            http.session.get(f"{server.url}/x", timeout=5)
        with pytest.raises(UpstreamError, match="broke off its answer"):
            http.request("GET", f"{server.url}/x")


# -- errors ------------------------------------------------------------------------------

def closing(sock: socket.socket, server: WireServer) -> None:
    read_request(sock)  # then closed without a word


def resetting(sock: socket.socket, server: WireServer) -> None:
    read_request(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def silent(sock: socket.socket, server: WireServer) -> None:
    read_request(sock)
    time.sleep(3)


@pytest.mark.parametrize("handler, error", [(closing, requests.ConnectionError),
                                            (resetting, requests.ConnectionError),
                                            (silent, requests.ReadTimeout)])
def test_failures_are_raised_as_requests_raises_them(http: OutboundHTTP, handler: Any, error: type) -> None:
    with WireServer(handler) as server:
        with pytest.raises(error) as ours:
            http.session.get(f"{server.url}/x", timeout=(5, 0.3))
        plain = requests.Session()
        with pytest.raises(error) as theirs:
            plain.get(f"{server.url}/x", timeout=(5, 0.3))
        plain.close()
    assert type(ours.value) is type(theirs.value)


def test_connection_refused_and_connect_timeout(http: OutboundHTTP) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as refused:
        http.session.get(f"http://127.0.0.1:{port}/x", timeout=5)
    assert not isinstance(refused.value, requests.ConnectTimeout)

    # A listening socket whose backlog is full: the kernel drops further SYNs.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    waiting = [socket.create_connection(full.getsockname(), timeout=1)]
    try:
        started = time.monotonic()
        with pytest.raises(requests.ConnectTimeout):
            http.session.get(f"http://127.0.0.1:{full.getsockname()[1]}/x", timeout=(0.3, 5))
        assert time.monotonic() - started < 2
    finally:
        for sock in [*waiting, full]:
            sock.close()


def test_error_messages_carry_no_credential(http: OutboundHTTP) -> None:
    secret = "s3cr3t-pw"
    with WireServer(closing) as server:
        url = f"http://agent:{secret}@127.0.0.1:{server.port}/x?apikey={secret}"
        with pytest.raises(requests.ConnectionError) as raw:
            http.session.get(url, timeout=5)
        with pytest.raises(UpstreamError) as mapped:
            http.request("GET", url)
    for text in (str(raw.value), mapped.value.message, str(mapped.value.hint)):
        assert secret not in text and "Traceback" not in text


# -- what is sent ------------------------------------------------------------------------

def test_host_content_length_and_session_headers(http: OutboundHTTP, urlopen_calls: list[str]) -> None:
    with WireServer(keep_alive(answer())) as server:
        http.session.headers["X-Territory"] = "metz"
        http.request("POST", f"{server.url}/x", data="rue é")
        http.request("PUT", f"{server.url}/x", data=b"\x00\x01")
        http.request("DELETE", f"{server.url}/x")
        http.request("GET", f"http://agent:p%40ss@127.0.0.1:{server.port}/x")
    post, put, delete, get = server.seen
    assert post["host"] == f"127.0.0.1:{server.port}" and post["x-territory"] == "metz"
    assert (post["content-length"], post["body"].encode("latin-1")) == ("6", "rue é".encode())
    assert (put["content-length"], put["body"]) == ("2", "\x00\x01")
    assert delete["content-length"] == "0" and "content-length" not in get  # as requests prepares them
    assert get["host"] == f"127.0.0.1:{server.port}"  # no user:password in Host
    assert get["authorization"] == "Basic " + base64.b64encode(b"agent:p@ss").decode()
    assert urlopen_calls == []


def test_an_ipv6_literal(http: OutboundHTTP) -> None:
    try:
        server = WireServer(keep_alive(answer()), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        assert http.get_json(f"http://[::1]:{server.port}/x") == {"ok": True}
    assert server.seen[0]["host"] == f"[::1]:{server.port}"


def test_unusual_bodies_and_encodings_go_through_urllib3(http: OutboundHTTP, urlopen_calls: list[str]) -> None:
    with WireServer(keep_alive(answer())) as server:
        http.request("POST", f"{server.url}/x", data=io.BytesIO(b"file body"))
        http.request("POST", f"{server.url}/x", data=iter([b"gen", b"erated"]))
        # requests offers br when brotli is installed: only urllib3 can decode it.
        http.request("GET", f"{server.url}/x", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert len(urlopen_calls) == 3
    assert server.seen[0]["body"] == "file body" and server.seen[1]["transfer-encoding"] == "chunked"


# -- the deadline ------------------------------------------------------------------------

def dribbling(sock: socket.socket, server: WireServer) -> None:
    read_request(sock)
    sock.sendall(answer(200, b"x" * 100)[:-100])
    for _ in range(100):
        time.sleep(0.2)
        sock.sendall(b"x")


@needs_openssl
def test_the_deadline_cuts_a_dribbling_tls_answer(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with WireServer(dribbling, tls=tls_context(cert, key)) as server:
        http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, read_timeout=30, total_timeout=0.8,
                                                           ca_bundle=str(cert)))
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="total_timeout"):
            http.request("GET", f"{server.url}/x")
        assert time.monotonic() - started < 2
        http.close()


@needs_openssl
def test_the_watchdog_cuts_a_stalled_tls_handshake(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepted by the kernel, never a ServerHello
        http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, ca_bundle=str(cert)))
        deadline = deadlines.Deadline(0.5)
        token = deadlines.current.set(deadline)
        deadlines.watchdog.watch(deadline)
        started = time.monotonic()
        try:
            with pytest.raises(requests.RequestException):
                http.session.get(f"https://localhost:{listener.getsockname()[1]}/x", timeout=(30, 30))
        finally:
            deadlines.watchdog.unwatch(deadline)
            deadlines.current.reset(token)
        assert time.monotonic() - started < 2 and deadline.expired
        http.close()


# -- TLS ---------------------------------------------------------------------------------

@needs_openssl
def test_tls_sends_sni_checks_the_certificate_and_shares_one_context(tmp_path: Path,
                                                                     urlopen_calls: list[str]) -> None:
    cert, key = self_signed(tmp_path)
    context = tls_context(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc]
    with WireServer(keep_alive(answer()), tls=context) as server:
        untrusting = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
        with pytest.raises(requests.exceptions.SSLError):
            untrusting.session.get(f"{server.url}/x", timeout=5)  # certifi's bundle
        untrusting.close()
        first, second = (OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, ca_bundle=str(cert)))
                         for _ in range(2))
        assert first.get_json(f"{server.url}/x") == second.get_json(f"{server.url}/x") == {"ok": True}
        assert only_pool(first).context is only_pool(second).context  # one per CA bundle, built once
        assert only_pool(first).context.check_hostname
        first.close()
        second.close()
    assert names[-2:] == ["localhost", "localhost"] and urlopen_calls == []


# -- the pool ----------------------------------------------------------------------------

def test_a_connection_the_server_closed_is_not_reused(http: OutboundHTTP) -> None:
    def once(sock: socket.socket, server: WireServer) -> None:
        read_request(sock)
        sock.sendall(answer())  # keep-alive by HTTP/1.1 rules, then closed anyway

    with WireServer(once) as server:
        assert http.get_json(f"{server.url}/x") == {"ok": True}
        time.sleep(0.1)
        assert http.get_json(f"{server.url}/x") == {"ok": True}  # not a ConnectionError
    assert len(set(server.ports)) == 2


def test_an_abandoned_answer_closes_its_connection(http: OutboundHTTP) -> None:
    big = answer(200, b"[" + b"1," * 200_000 + b"1]")
    with WireServer(keep_alive(big, answer())) as server:
        capped = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0, max_answer_bytes=64 * 1024))
        with pytest.raises(AnswerTooLarge):
            capped.request("GET", f"{server.url}/x")
        assert only_pool(capped).idle == 0
        assert capped.get_json(f"{server.url}/x") == {"ok": True}
        capped.close()
    assert len(set(server.ports)) == 2


def test_the_pool_is_bounded_and_thread_safe() -> None:
    client = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
    client.session  # noqa: B018 - builds the adapter
    adapter = adapter_of(client)
    adapter._maxsize = 3
    errors: list[BaseException] = []
    with WireServer(keep_alive(answer())) as server:
        def calls() -> None:
            try:
                for _ in range(20):
                    assert client.get_json(f"{server.url}/x") == {"ok": True}
            except BaseException as exc:  # reported below
                errors.append(exc)
        threads = [threading.Thread(target=calls) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(server.seen) == 120
        assert only_pool(client).idle <= 3
        assert len(set(server.ports)) < 120  # connections were reused
    client.close()


def test_closing_the_adapter_closes_idle_connections() -> None:
    with WireServer(keep_alive(answer())) as server:
        clients = [OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0)) for _ in range(3)]
        for client in clients:
            client.get_json(f"{server.url}/x")
        sockets = [conn.sock for client in clients for conn in only_pool(client)._idle]
        assert len(sockets) == 3 and all(sock.fileno() >= 0 for sock in sockets)
        for client in clients:
            client.close()
        assert all(sock.fileno() == -1 for sock in sockets)  # descriptors released, not left to GC


def test_the_direct_pools_of_one_adapter_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean, "MAX_POOLS", 2)
    servers = [WireServer(keep_alive(answer())) for _ in range(3)]
    http = OutboundHTTP("metz/t", policy=OutboundPolicy(retries=0))
    for server in servers:
        with server:
            http.get_json(f"{server.url}/x")
    assert [origin for origin, _ in adapter_of(http)._direct] == [servers[1].url, servers[2].url]
    http.close()


def test_a_ssl_context_is_not_built_for_a_missing_bundle(tmp_path: Path) -> None:
    assert lean.verifying_context(str(tmp_path / "nope.pem")) is None
    assert lean.verifying_context(True) is lean.verifying_context(True)
    assert lean.verifying_context(True).verify_mode == ssl.CERT_REQUIRED  # type: ignore[union-attr]


def test_nothing_is_smuggled_into_the_request_head(http: OutboundHTTP) -> None:
    with WireServer(keep_alive(answer())) as server:
        prepared = requests.Request("GET", f"{server.url}/x").prepare()
        prepared.headers["X-Evil"] = "a\r\nX-Injected: 1"  # after requests' own checks
        with pytest.raises(ValueError, match="forbidden characters"):
            http.session.send(prepared, timeout=5)
        prepared = requests.Request("GET", f"{server.url}/x").prepare()
        prepared.url = f"{server.url}/x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET /y"
        with pytest.raises(requests.exceptions.InvalidURL):
            http.session.send(prepared, timeout=5)
        assert http.get_json(f"{server.url}/x") == {"ok": True}
    assert len(server.seen) == 1 and "x-injected" not in server.seen[0]
