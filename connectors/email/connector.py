"""The email connector: messages in an instance's identity, through a durable outbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.email import render
from framework import (
    REQUIRED,
    Accepted,
    BadRequest,
    Call,
    Connector,
    JobRun,
    NotFound,
    Param,
    RaccordError,
    Setting,
    endpoint,
    job,
)

if TYPE_CHECKING:  # the email package, smtplib and ssl: imported by a message, not by `raccord check`
    from email.message import EmailMessage

    from connectors.email import smtp

OUTBOX = "outbox"
SEND_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["to"], "additionalProperties": False,
    "properties": {
        "to": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "maxLength": 320},
        "template": {"type": "string", "pattern": r"^[a-z0-9_-]{1,64}$"},
        "on_behalf_of": {"type": "string", "description": "a hosted instance the message speaks for"},
        "context": {"type": "object", "description": "values the template shows"},
        "key": {"type": "string", "minLength": 1, "maxLength": 200,
                "description": "the message's idempotency key: the same key is sent once"},
        "ref": {"type": "string", "maxLength": 200, "description": "the report it is about (raccord history)"},
    },
}
SEND_EXAMPLE = {"to": "citoyen@example.org", "template": "status", "on_behalf_of": "woippy", "key": "form-1:closed",
                "context": {"service_name": "Voirie", "status_label": "traitée", "ref": "form-1"}}
SAMPLE = {"ref": "signalements-1234", "service_request_id": "1001", "service_name": "Voirie",
          "service_code": "voirie", "description": "Nid-de-poule devant le 12", "address": "12 rue de la Gare",
          "status": "closed", "status_label": "traitée", "notes": "Rebouché le 3 décembre", "final": True}


class Email(Connector):
    """E-mail to citizens in the responsible entity's identity (its name, logo, colours,
    signature and contact), through the entity's SMTP server, with TLS. Every message
    goes through a durable outbox: queued while the server is down, never sent twice."""

    id = "email"
    title = "E-mail (SMTP)"

    host = Setting(str, REQUIRED, "the SMTP server", variability="instance")
    port = Setting(int, 587, "its port (587 for STARTTLS, 465 for implicit TLS)", variability="instance")
    security = Setting(str, "starttls", "'starttls' or 'tls' (implicit, port 465); certificates are "
                       "always verified", choices=("starttls", "tls"), variability="instance")
    username = Setting(str, "", "SMTP login; empty: no authentication", variability="instance")
    password = Setting(str, "", "SMTP password", secret=True, variability="instance")
    sender = Setting(str, REQUIRED, "the address messages are sent from (the display name is the "
                     "instance's name)", variability="instance")
    senders = Setting(dict, {}, "a multi-communal binding's sender address per hosted instance "
                      "(instance name → address); the others use sender", variability="instance")
    deadline = Setting(float, 60.0, "total seconds one delivery may take (connection, TLS, dialogue)")
    template_dir = Setting(str, "", "directory searched first for templates (relative to instances.toml); "
                           "empty: the built-in ones. Per instance, a declared override")

    # -- composing ----------------------------------------------------------------------

    def _template_dir(self) -> str | None:
        directory = self.settings.template_dir
        return str(Path(self.ctx.base_dir, directory)) if directory else None

    def compose(self, to: str, template: str, on_behalf_of: str | None, context: Mapping[str, Any],
                key: str) -> EmailMessage:
        """The message in the identity of the served instance ``on_behalf_of``."""
        from email.message import EmailMessage
        from email.utils import formataddr, formatdate

        identity = self.ctx.identity(on_behalf_of)
        address = str(self.settings.senders.get(identity["instance"]) or self.settings.sender)
        rendered = render.render(render.environment(self._template_dir()), template,
                                 {**identity, "sender": address}, context)
        message = EmailMessage()
        message["From"] = formataddr((identity["name"], address))
        message["To"] = to
        if identity.get("email"):
            message["Reply-To"] = formataddr((identity["name"], identity["email"]))
        message["Subject"] = rendered.subject
        message["Date"] = formatdate(usegmt=True)
        # Derived from the key: a message delivered twice (a crash between the server's
        # 250 and the outbox's record) has one Message-ID, which mail clients merge.
        digest = hashlib.sha256(f"{self.ctx.binding_id}\0{key}".encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{address.rpartition('@')[2] or 'raccord'}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    # -- endpoints ----------------------------------------------------------------------

    @endpoint(methods=("POST",), description="Queue a message in the outbox (202 with its job id): "
              "sent once, as soon as the SMTP server takes it.",
              body_schema=SEND_SCHEMA, body_example=SEND_EXAMPLE, permission="can_access")
    def send(self, call: Call) -> Accepted:
        body = dict(call.body) if isinstance(call.body, dict) else {}
        if not body.get("to"):
            raise BadRequest("the body needs 'to', the recipient's address")
        self.ctx.served_instance(body.get("on_behalf_of"))  # refused now, not in the worker
        key = str(body.get("key") or hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24])
        job_id = self.ctx.queue.enqueue("send", {**body, "key": key},  # type: ignore[union-attr]
                                        idempotency_key=f"mail:{key}")
        return Accepted(job_id)

    @endpoint(description="A template rendered with sample values in an instance's identity: "
              "subject, text, HTML, sender and reply-to.",
              params=[Param("template", str, "the template's name", "status", default="status"),
                      Param("on_behalf_of", str, "a hosted instance", "woippy")],
              permission="can_access")
    def preview(self, call: Call) -> dict[str, Any]:
        message = self.compose("citoyen@example.org", call.params.get("template") or "status",
                               call.params.get("on_behalf_of"), SAMPLE, "preview")
        return {"subject": message["Subject"], "from": message["From"], "reply_to": message["Reply-To"],
                **_bodies(message)}

    @endpoint(description="One message of the outbox by its key: sending or sent, when, Message-ID.",
              params=[Param("key", str, "the message's key", "form-1:closed", required=True)],
              permission="can_access")
    def outbox(self, call: Call) -> dict[str, Any]:
        record = self.store.get(OUTBOX, call.params["key"])
        if record is None:
            raise NotFound(f"{self.ctx.binding_id} has no message {call.params['key']!r}")
        return record

    # -- the outbox ---------------------------------------------------------------------

    @job(name="send", schedule="weekly", description="Send one message of the outbox (payload {to, template, "
                                        "on_behalf_of, context, key}); without a payload, nothing to do.")
    def send_job(self, run: JobRun) -> dict[str, Any]:
        from framework import mask_email  # SQLAlchemy: when used, not at `raccord check`

        payload = run.payload
        if not payload.get("to"):
            return {"sent": 0}
        key = str(payload.get("key") or run.idempotency_key)
        record = self.store.get(OUTBOX, key)
        if record is not None and record["state"] == "sent":
            return record  # a rerun after a crash: it went already
        message = self.compose(str(payload["to"]), str(payload.get("template") or "status"),
                               payload.get("on_behalf_of"), payload.get("context") or {}, key)
        context = payload.get("context") or {}
        ref = str(payload.get("ref") or context.get("ref") or "")
        record = {"key": key, "ref": ref or None, "state": "sending", "message_id": message["Message-ID"],
                  "to": mask_email(str(payload["to"])), "subject": message["Subject"],
                  "template": payload.get("template") or "status", "on_behalf_of": self.ctx.identity(
                      payload.get("on_behalf_of"))["instance"], "sent_at": None, "job_id": run.job_id,
                  "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        self.store.put(OUTBOX, [(key, f"{key} {ref}", record)])
        self._deliver(message, str(payload["to"]))
        record.update(state="sent", sent_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        self.store.put(OUTBOX, [(key, f"{key} {ref}", record)])
        self.log.info("message %s sent to %s", record["message_id"], record["to"])
        return record

    def _deliver(self, message: EmailMessage, to: str) -> None:
        from connectors.email import smtp

        server = smtp.SmtpServer(
            host=self.settings.host, port=self.settings.port, security=self.settings.security,
            username=self.settings.username, password=self.settings.password,
            ca_bundle=str(Path(self.ctx.base_dir, self.settings.ca_bundle)) if self.settings.ca_bundle else None,
            connect_timeout=self.settings.connect_timeout, deadline=self.settings.deadline)
        address = message["From"].addresses[0].addr_spec
        started, error = time.perf_counter(), None
        try:
            smtp.deliver(server, message, address, to)
        except RaccordError as exc:
            error = exc
            raise
        finally:
            self._journal(server, started, error)

    def _journal(self, server: smtp.SmtpServer, started: float, error: RaccordError | None) -> None:
        """One journal row per delivery, like an HTTP call: the server, never the recipient."""
        journal = getattr(self.http, "journal", None)
        if journal is None:
            return
        journal.record(instance=self.ctx.instance.name, profile=self.ctx.binding.profile.name, method="SMTP",
                       url=f"smtp://{server.where}", status=None if error else 250,
                       duration_ms=round((time.perf_counter() - started) * 1000, 3),
                       err_class=error.err_class if error else None, error=error.message if error else None)


def _bodies(message: EmailMessage) -> dict[str, str]:
    out = {}
    for part in message.iter_parts():
        out["html" if part.get_content_subtype() == "html" else "text"] = part.get_content()
    return out
