"""raccord's gunicorn worker (JsonErrorWorker) with kept-alive connections: every client
is served when there are more connections than threads, an idle connection holds no
thread, pipelined requests and a head without a body (the head is held back to leave
with the body, framework/gateway/coalesce.py) are answered, and a stop or max_requests
still ends the connection. A real gunicorn on 127.0.0.1 over a tiny app."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import ROOT
from tests.framework.serve.harness import stop_process, wait_for

THREADS = 2


class Gunicorn:
    """gunicorn with raccord's worker class, one worker process of THREADS threads."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.log = tmp / f"gunicorn-{time.monotonic_ns()}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "framework.gateway.hardening.JsonErrorWorker", "-w", "1",
             "--threads", str(THREADS), "--keep-alive", "5", "--graceful-timeout", "10", "--no-control-socket",
             "-b", "127.0.0.1:0", *extra, "tests.framework.serve.worker_app:app"],
            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=self._out, stderr=subprocess.STDOUT)
        self.port = 0
        wait_for(self._listening, 30, lambda: self.text()[-2000:])
        wait_for(lambda: "Booting worker" in self.text(), 30, lambda: self.text()[-2000:])

    def _listening(self) -> bool:
        assert self.proc.poll() is None, self.text()[-2000:]
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.text())
        self.port = int(found.group(1)) if found else 0
        return found is not None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)
        self._out.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path_factory.mktemp("worker"))
    yield server
    server.stop()


def get(conn: http.client.HTTPConnection, path: str = "/") -> http.client.HTTPResponse:
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    return resp


def read_answer(stream: IO[bytes]) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a Content-Length body, from a buffered socket file."""
    status = int(stream.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers["content-length"]))


def test_more_kept_alive_clients_than_threads_are_all_served(served: Gunicorn) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        conn = served.connect()
        try:
            for _ in range(25):
                status = get(conn).status
                with lock:
                    statuses.append(status)
        finally:
            conn.close()

    clients = [threading.Thread(target=client) for _ in range(6 * THREADS)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(60)
    assert statuses == [200] * (6 * THREADS * 25)


def test_idle_kept_alive_connections_hold_no_thread(served: Gunicorn) -> None:
    idle = [served.connect() for _ in range(2 * THREADS)]
    try:
        for conn in idle:
            assert get(conn).status == 200  # answered, kept alive, then left idle
        for _ in range(10):
            conn = served.connect()
            t0 = time.monotonic()
            assert get(conn).status == 200
            # The keep-alive timeout is 5 s: a thread held by an idle client would show.
            assert time.monotonic() - t0 < 1.0
            conn.close()
        for conn in idle:  # still alive, and served again
            assert get(conn).status == 200
    finally:
        for conn in idle:
            conn.close()


def test_pipelined_requests_and_quick_and_late_next_requests_are_answered(served: Gunicorn) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s, s.makefile("rb") as stream:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /?second HTTP/1.1\r\nHost: a\r\n\r\n")
        first, second = read_answer(stream), read_answer(stream)
        assert first[0] == second[0] == 200  # the second was read ahead with the first
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # at once
        status, headers, _ = read_answer(stream)
        assert status == 200 and headers.get("connection", "").lower() != "close"
        time.sleep(0.3)  # after a pause: back through the poller
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_answer(stream)[0] == 200


def test_a_head_request_is_answered_and_the_connection_kept(served: Gunicorn) -> None:
    conn = served.connect()
    try:
        conn.request("HEAD", "/")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b""  # the head alone, sent when the response ended
        assert get(conn).status == 200
    finally:
        conn.close()


def test_a_stop_answers_the_call_in_flight_then_closes_the_connection(tmp_path: Path) -> None:
    server = Gunicorn(tmp_path)
    try:
        conn = server.connect()
        assert get(conn).status == 200
        answers: list[Any] = []
        slow = threading.Thread(target=lambda: answers.append(get(conn, "/slow?s=1")))
        slow.start()
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        slow.join(15)
        assert answers[0].status == 200
        # The next call on that connection, sent at once, is answered too, told to close.
        last = get(conn)
        assert last.status == 200 and last.getheader("connection", "").lower() == "close"
        server.proc.wait(15)
    finally:
        server.stop()


def test_max_requests_still_ends_a_busy_kept_alive_connection(tmp_path: Path) -> None:
    server = Gunicorn(tmp_path, "--max-requests", "5")
    try:
        conn = server.connect()
        answers = [get(conn) for _ in range(5)]
        assert [a.status for a in answers] == [200] * 5
        assert all(a.getheader("connection", "").lower() != "close" for a in answers[:4])
        assert answers[4].getheader("connection", "").lower() == "close"
        conn.close()
        wait_for(lambda: server.text().count("Booting worker") >= 2, 30, lambda: server.text()[-2000:])
        fresh = server.connect()
        assert get(fresh).status == 200  # the replacement worker serves
        fresh.close()
    finally:
        server.stop()
