"""The shipped nginx configuration in front of `raccord serve`: slow and malformed
clients stay in nginx, what nginx refuses is JSON, and its access log has no query."""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.framework.serve.harness import Serve, business, write_config
from tests.framework.serve.nginx import Nginx, nginx_binary

# One process runs the module: its tests share one module-scoped server.
pytestmark = pytest.mark.xdist_group("test_nginx")

CONNECTIONS = 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Serve, Nginx]]:
    nginx_binary()
    tmp = tmp_path_factory.mktemp("nginx")
    with business() as shop:
        serve = Serve(write_config(tmp, shop.url), f"sqlite:///{tmp / 'db.sqlite3'}", role="gateway", workers=2)
        front = Nginx(tmp, [f"127.0.0.1:{serve.port}"])
        yield serve, front
        front.stop()
        serve.stop()


class Slowloris:
    """``count`` connections that send a request's headers one line a second, forever
    (reconnecting when the server drops them)."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.socks = [self._open() for _ in range(count)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._dribble, daemon=True)
        self.thread.start()

    def _open(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        return s

    def _dribble(self) -> None:
        while not self.stop.wait(1.0):
            for i, s in enumerate(self.socks):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    s.close()
                    with contextlib.suppress(OSError):
                        self.socks[i] = self._open()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def healthz_times(url: str, n: int = 30, timeout: float = 5.0) -> list[float]:
    times = []
    with requests.Session() as s:
        s.trust_env = False
        for _ in range(n):
            started = time.perf_counter()
            response = s.get(url + "/healthz", timeout=timeout)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200 and response.json()["data"] == {"status": "ok"}
    return times


def test_200_slowloris_connections_do_not_delay_healthz_behind_nginx(stack: tuple[Serve, Nginx]) -> None:
    _serve, front = stack
    healthz_times(front.url, 10)  # warm-up
    normal = statistics.median(healthz_times(front.url))
    attack = Slowloris(front.port, CONNECTIONS)
    try:
        time.sleep(1.5)  # every connection has dribbled at least once
        under_attack = statistics.median(healthz_times(front.url))
    finally:
        attack.close()
    # Generous: twice the normal median, plus 20 ms for a machine shared with other tests.
    assert under_attack <= 2 * normal + 0.02, (normal, under_attack)


def raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                headers = {k.lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])}
                if len(body) >= int(headers.get("content-length", 0)):
                    return int(head.split()[1]), headers, body
    raise AssertionError(f"no answer to {data[:60]!r}")


@pytest.mark.parametrize(("case", "data", "status", "err_class"), [
    ("garbage", b"\x00\x01\x02 junk\r\n\r\n", 400, "raccord.bad_request"),
    ("header too large", b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 400,
     "raccord.bad_request"),
    ("request line too long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 400, "raccord.bad_request"),
    ("body too large", b"POST /metz/s/push HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n", 413,
     "raccord.payload_too_large"),
])
def test_what_nginx_refuses_is_the_json_envelope(stack: tuple[Serve, Nginx], case: str, data: bytes, status: int,
                                                  err_class: str) -> None:
    _, front = stack
    got, headers, body = raw(front.port, data)
    assert got == status, (case, body)
    assert headers["content-type"] == "application/json"
    envelope = json.loads(body)
    assert envelope["err"] == 1 and envelope["err_class"] == err_class


def test_a_machine_down_is_a_json_503(tmp_path: Path) -> None:
    from framework.testing import free_port

    front = Nginx(tmp_path, [f"127.0.0.1:{free_port()}"])
    try:
        response = requests.get(front.url + "/healthz", timeout=10)
        assert response.status_code == 503 and response.json()["err_class"] == "raccord.unavailable"
        assert response.headers["Retry-After"]
    finally:
        front.stop()


def test_the_access_log_has_no_query_string(stack: tuple[Serve, Nginx]) -> None:
    _, front = stack
    requests.get(front.url + "/metz/s/hello?apikey=CANARY-q1&signature=CANARY-q2", timeout=10)
    time.sleep(0.2)
    logs = front.logs()
    assert "/metz/s/hello" in logs and "CANARY" not in logs
