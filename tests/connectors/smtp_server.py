"""A real SMTP server on loopback (aiosmtpd), with STARTTLS or implicit TLS.

``SmtpInbox`` keeps every message it accepted. ``block_rcpt`` (an Event) holds a
delivery in the middle of its dialogue (before the end of data, so nothing is
accepted yet): a worker killed then has delivered nothing. ``stop()``/``start()``
take it down and back on the same port.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "raccord", "smtp-pass-word"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpInbox:
    def __init__(self, cert: Path, key: Path, *, implicit_tls: bool = False, port: int | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.implicit_tls = implicit_tls
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.block_rcpt: threading.Event | None = None
        self.rcpt_reached = threading.Event()
        self.stall_seconds = 0.0
        self.logins: list[str] = []
        self.controller: Controller | None = None

    # -- aiosmtpd handler ----------------------------------------------------------------

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.rcpt_reached.set()
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)
        block = self.block_rcpt
        if block is not None:
            while not block.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)

    # -- control -------------------------------------------------------------------------

    def start(self) -> SmtpInbox:
        kwargs: dict[str, Any] = {"authenticator": self._authenticate, "auth_required": False,
                                  "auth_require_tls": True}
        if self.implicit_tls:
            # aiosmtpd cannot tell an implicit-TLS session is encrypted: it would hide AUTH.
            kwargs.update(ssl_context=self.context, auth_require_tls=False)
        else:
            kwargs.update(tls_context=self.context, require_starttls=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
                                     ready_timeout=10, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        time.sleep(0.05)

    def __enter__(self) -> SmtpInbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.block_rcpt is not None:
            self.block_rcpt.set()
        self.stop()
