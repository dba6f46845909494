"""What gunicorn refuses itself is the JSON envelope (never HTML), and its log holds no
query string or credential: raw requests over a socket to a live `raccord serve`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from framework.gateway.hardening import JsonErrorWorker, redact
from tests.framework.serve.harness import API_KEY, Serve, business, write_config

# One process runs the module: its tests share one module-scoped server.
pytestmark = pytest.mark.xdist_group("test_http_hardening")

CANARY = "CANARY-7f3a9c"
MALFORMED = {
    "bad method": b"G@T /metz/?apikey=" + CANARY.encode() + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "raw bytes": b"\x00\x01\x02\xff\xfe " + CANARY.encode() + b"\r\n\r\n",
    "request line over 4 KiB": b"GET /" + b"a" * 5000 + b"?signature=" + CANARY.encode() + b" HTTP/1.1\r\n"
                               b"Host: a\r\n\r\n",
    "header too large": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    "too many headers": b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(100))
                        + b"\r\n",
    "invalid header": b"GET /healthz?apikey=" + CANARY.encode() + b" HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n",
    "bad version": b"GET /healthz HTTP/7.3\r\nHost: a\r\n\r\n",
    "malformed chunked body": b"POST /metz/s/push HTTP/1.1\r\nHost: a\r\nX-API-Key: " + API_KEY.encode()
                              + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"zz\r\n{}\r\n0\r\n\r\n",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp = tmp_path_factory.mktemp("hardening")
    with business() as shop:
        serve = Serve(write_config(tmp, shop.url), f"sqlite:///{tmp / 'db.sqlite3'}", role="gateway")
        yield serve
        serve.stop()


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def first_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    body = rest[: int(headers["content-length"])]
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_a_json_400(served: Serve, case: str) -> None:
    status, headers, body = first_answer(exchange(served.port, MALFORMED[case]))
    assert status == 400, (case, body)
    assert headers["content-type"] == "application/json"
    envelope = json.loads(body)
    assert envelope["err"] == 1 and envelope["err_class"] == "raccord.bad_request" and envelope["err_desc"]
    assert CANARY.encode() not in body and b"<html" not in body.lower()


def test_the_server_log_has_no_query_string_or_credential(served: Serve) -> None:
    for data in MALFORMED.values():
        exchange(served.port, data)
    exchange(served.port, b"GET /metz/s/hello?apikey=" + CANARY.encode() + b" HTTP/1.1\r\nHost: a\r\n"
                          b"Authorization: Basic " + CANARY.encode() + b"\r\n\r\n")
    text = served.text()
    assert "refused a malformed request" in text  # the refusals are logged …
    assert CANARY not in text  # … without what the caller sent


def test_a_well_formed_call_still_works(served: Serve) -> None:
    response = served.session.get(f"{served.url}/metz/s/hello", headers={"X-API-Key": API_KEY}, timeout=10)
    assert response.status_code == 200 and response.json()["data"] == {"instance": "metz"}


def test_redact_strips_queries_credentials_and_secret_pairs() -> None:
    line = ("Invalid request line 'GET /m/p/e?apikey=K1&x=1 HTTP/1.1' Authorization: Bearer T0K "
            "signature=S1 nonce=N1")
    out = redact(line)
    for secret in ("K1", "T0K", "S1", "N1", "x=1"):
        assert secret not in out
    assert "GET /m/p/e" in out


class _Cfg:
    threads = 2


def test_a_worker_whose_every_thread_is_stuck_stops_notifying() -> None:
    """Its master then replaces it after gunicorn's timeout (the worker timeout)."""
    worker = JsonErrorWorker.__new__(JsonErrorWorker)
    worker.cfg = _Cfg()
    worker._busy = {1: 0.0}
    assert not worker.stuck(now=1000.0)  # one thread of two busy: the other serves
    worker._busy = {1: 0.0, 2: 999.0}
    assert not worker.stuck(now=1000.0)  # one call is recent
    worker._busy = {1: 0.0, 2: 10.0}
    assert worker.stuck(now=1000.0)
