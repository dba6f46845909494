"""HeldHead: a response's head and a small body leave in one sendall; nothing is lost
or reordered otherwise (a recording socket; a socket pair for the end-to-end bytes)."""

from __future__ import annotations

import socket
from typing import Any

from framework.gateway.coalesce import JOIN_LIMIT, HeldHead

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.calls: list[str] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def fileno(self) -> int:
        self.calls.append("fileno")
        return 7

    def shutdown(self, how: int) -> None:
        self.calls.append(f"shutdown {how}")


def held(rec: Recorder) -> HeldHead:
    return HeldHead(rec)  # type: ignore[arg-type]  # duck-typed like a socket


def test_head_and_small_body_leave_together() -> None:
    rec = Recorder()
    out = held(rec)
    out.sendall(HEAD)
    assert rec.sent == []  # held
    out.sendall(b"hello")
    out.sendall(b"more")  # later writes pass straight through
    out.flush()
    assert rec.sent == [HEAD + b"hello", b"more"]


def test_a_head_without_body_leaves_on_flush() -> None:
    rec = Recorder()
    out = held(rec)
    out.sendall(HEAD)
    out.flush()
    out.flush()
    assert rec.sent == [HEAD]


def test_a_large_body_is_not_copied_onto_the_head() -> None:
    rec = Recorder()
    out = held(rec)
    big = b"x" * (JOIN_LIMIT + 1)
    out.sendall(HEAD)
    out.sendall(big)
    assert rec.sent == [HEAD, big]


def test_any_other_use_of_the_socket_sends_the_head_first() -> None:
    rec = Recorder()
    out = held(rec)
    out.sendall(HEAD)
    sock: Any = out
    assert sock.fileno() == 7  # e.g. sendfile: the head must be on the wire before the file
    sock.shutdown(socket.SHUT_WR)
    assert rec.sent == [HEAD] and rec.calls == ["fileno", f"shutdown {socket.SHUT_WR}"]


def test_bytes_arrive_whole_and_in_order_on_a_real_socket() -> None:
    a, b = socket.socketpair()
    with a, b:
        out = HeldHead(a)
        out.sendall(HEAD)
        out.sendall(b"hello")
        out.sendall(b" world")
        out.flush()
        a.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := b.recv(65536):
            got += chunk
    assert got == HEAD + b"hello world"
