"""One SMTP delivery: TLS always (STARTTLS or implicit), verification on, a total deadline.

smtplib's ``timeout`` bounds each socket operation, not the delivery: a server that
answers one line every 29 seconds would hold a worker for ever. Here every command
sent and every reply read first re-arms the socket with what is left of the
delivery's deadline, and fails once nothing is left.

smtplib's exceptions may carry the recipient's address (``SMTPRecipientsRefused``
holds them all): they are mapped to raccord's errors here, with addresses masked.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from framework import BadRequest, Unavailable, UpstreamError, UpstreamTimeout


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "starttls" | "tls"
    username: str = ""
    password: str = ""
    ca_bundle: str | None = None
    connect_timeout: float = 5.0
    deadline: float = 60.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class _DeadlineMixin:
    """Arms the socket with the time left before each command and each reply."""

    sock: Any
    _end: float = 0.0

    def _arm(self) -> None:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the delivery's deadline passed")
        if self.sock is not None:
            self.sock.settimeout(left)

    def send(self, s: Any) -> None:
        self._arm()
        super().send(s)  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        self._arm()
        reply: tuple[int, bytes] = super().getreply()  # type: ignore[misc]
        return reply


class _SMTP(_DeadlineMixin, smtplib.SMTP):
    pass


class _SMTPS(_DeadlineMixin, smtplib.SMTP_SSL):
    pass


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    # Certificates and host names are checked; a private authority is added, never
    # a reason to turn verification off.
    return ssl.create_default_context(cafile=ca_bundle or None)


def deliver(server: SmtpServer, message: EmailMessage, sender: str, recipient: str) -> str:
    """Send ``message``; return the server's answer to the end of data ("250 …")."""
    context = tls_context(server.ca_bundle)
    end = time.monotonic() + server.deadline
    connect = max(0.1, min(server.connect_timeout, server.deadline))
    smtp: _SMTP | _SMTPS
    # EHLO names this machine without a DNS lookup (getfqdn() can hang on a resolver).
    local = socket.gethostname() or "raccord"
    smtp = (_SMTPS(timeout=connect, context=context, local_hostname=local) if server.security == "tls"
            else _SMTP(timeout=connect, local_hostname=local))
    smtp._end = end
    # What TLS checks the certificate against: smtplib sets it only when the host is
    # given to the constructor, which would connect before the deadline is armed.
    smtp._host = server.host  # type: ignore[union-attr]
    try:
        try:
            smtp.connect(server.host, server.port)
        except (ConnectionError, socket.gaierror, TimeoutError) as exc:
            raise Unavailable(f"the SMTP server {server.where} cannot be reached ({type(exc).__name__})",
                              hint="the message stays in the outbox and goes when the server is back") from None
        return _dialogue(smtp, server, context, message, sender, recipient)
    except ssl.SSLCertVerificationError:
        raise UpstreamError(f"the SMTP server {server.where} has a TLS certificate raccord cannot verify",
                            hint="if it uses a private authority, set ca_bundle to its CA certificate") from None
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        # smtplib turns a read timeout into "server disconnected": the clock tells which.
        if not isinstance(exc, TimeoutError) and time.monotonic() < end - 0.01:
            raise UpstreamError(f"the SMTP server {server.where} closed the connection") from None
        raise UpstreamTimeout(f"the SMTP server {server.where} did not complete the delivery within "
                              f"{server.deadline:g} s") from None
    except smtplib.SMTPRecipientsRefused as exc:
        from framework import mask_email  # SQLAlchemy: when used, not at `raccord check`

        code, text = next(iter(exc.recipients.values()), (550, b""))
        raise BadRequest(f"the SMTP server refused the recipient {mask_email(recipient)}: {code} "
                         f"{_text(text)}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise UpstreamError(f"the SMTP server refused the sender: {exc.smtp_code} {_text(exc.smtp_error)}",
                            hint="check the sender setting (an address this server may send from)") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise UpstreamError(f"the SMTP server refused the login: {exc.smtp_code}",
                            hint="check the username and password settings") from None
    except smtplib.SMTPResponseException as exc:
        error = BadRequest if exc.smtp_code >= 500 else UpstreamError  # 5xx: permanent
        raise error(f"the SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise UpstreamError(f"the delivery to {server.where} failed ({type(exc).__name__})") from None
    finally:
        with contextlib.suppress(OSError):
            smtp.close()


def _dialogue(smtp: _SMTP | _SMTPS, server: SmtpServer, context: ssl.SSLContext, message: EmailMessage,
              sender: str, recipient: str) -> str:
    smtp.ehlo()
    if server.security == "starttls":
        if not smtp.has_extn("starttls"):
            raise UpstreamError(f"the SMTP server {server.where} does not offer STARTTLS",
                                hint="set security = \"tls\" if it expects TLS from the start (port 465)")
        smtp.starttls(context=context)
        smtp.ehlo()
    if server.username:
        if not smtp.has_extn("auth"):
            raise UpstreamError(f"the SMTP server {server.where} does not offer authentication",
                                hint="leave username empty if it takes mail without a login")
        smtp.login(server.username, server.password)
    smtp.send_message(message, from_addr=sender, to_addrs=[recipient])  # raises unless accepted
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()  # delivered: a lost goodbye changes nothing
    return "250 accepted"


def _text(raw: bytes | str) -> str:
    from framework import mask_emails  # SQLAlchemy: when used, not at `raccord check`

    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return mask_emails(text)[:200]
