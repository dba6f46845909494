"""email against a real SMTP server on loopback (aiosmtpd), STARTTLS and implicit TLS."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from framework import Accepted, BadRequest, Forbidden
from framework.app import Raccord
from framework.storage.schema import journal
from framework.testing import call, check_text, make_raccord
from tests.connectors.open311.support import job_status, run_jobs
from tests.connectors.smtp_server import PASSWORD, USER, SmtpInbox, free_port
from tests.framework.outbound.servers import self_signed

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
CITIZEN = "jean.dupont@example.org"
CONTEXT = {"ref": "form-1", "service_request_id": "1001", "service_name": "Voirie", "status_label": "traitée",
           "notes": "Rebouché", "description": "<script>alert(1)</script> devant le 12"}


def territory(port: int, *, security: str = "starttls", ca: bool = True, extra: str = "",
              metz_settings: str = "") -> str:
    ca_line = 'ca_bundle = "cert.pem"' if ca else ""
    return f"""
[territory]
name = "test"

[runtime]
backoff_seconds = 0.01

[profiles.courriel]
connector = "email"

[profiles.courriel.settings]
deadline = 5.0

[instances.metz]
name = "Ville de Metz"
profiles = ["courriel"]
identity = {{ logo = "https://metz.example/logo.svg", color = "#7a1f3d", email = "mairie@metz.example", \
signature = "Le maire de Metz" }}

[instances.metz.settings.courriel]
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{USER}"
password = {{ env = "SMTP_TEST_PASSWORD" }}
sender = "noreply@metz.example"
{ca_line}
{metz_settings}

[instances.metropole]
name = "Metz Métropole"
kind = "metropole"
identity = {{ logo = "https://metropole.example/logo.svg", color = "#00558c" }}

[instances.communes]
name = "Instance multi-communale"
kind = "multicommunal"
hosted_by = "metropole"
profiles = ["courriel"]
identity = {{ logo = "https://communes.example/logo.svg", color = "#00558c" }}

[instances.communes.settings.courriel]
host = "127.0.0.1"
port = {port}
security = "{security}"
sender = "noreply@communes.example"
senders = {{ woippy = "noreply@woippy.example" }}
{ca_line}

[instances.woippy]
name = "Woippy"
hosted_by = "communes"
identity = {{ color = "#1f7a5c", email = "mairie@woippy.example" }}
{extra}
"""


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_TEST_PASSWORD", PASSWORD)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def inbox(cert: tuple[Path, Path]) -> Iterator[SmtpInbox]:
    with SmtpInbox(*cert) as server:
        yield server


@pytest.fixture
def raccord(tmp_path: Path, inbox: SmtpInbox) -> Iterator[Raccord]:
    r = make_raccord(territory(inbox.port), tmp_path)
    yield r
    r.close()


def send(raccord: Raccord, target: str = "metz/courriel", **body: object) -> Accepted:
    accepted = call(raccord, f"{target}/send", method="POST",
                    body={"to": CITIZEN, "template": "status", "context": CONTEXT, "key": "form-1:closed", **body})
    assert isinstance(accepted, Accepted)
    return accepted


def test_a_message_goes_over_starttls_with_login_in_the_instance_identity(raccord: Raccord,
                                                                          inbox: SmtpInbox) -> None:
    accepted = send(raccord)
    run_jobs(raccord)
    assert job_status(raccord, accepted.job_id).status == "done"
    (message,) = inbox.messages
    assert inbox.logins == [USER]
    assert message["From"] == "Ville de Metz <noreply@metz.example>"
    assert message["Reply-To"] == "Ville de Metz <mairie@metz.example>"
    assert message["Subject"] == "Ville de Metz : votre signalement est traitée"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'src="https://metz.example/logo.svg"' in html and "#7a1f3d" in html and "Le maire de Metz" in html
    # A citizen's text cannot inject markup into the HTML; the plain text keeps it as written.
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script> devant le 12" in text and "Le maire de Metz" in text
    outbox = call(raccord, "metz/courriel/outbox", key="form-1:closed")
    assert outbox["state"] == "sent" and outbox["message_id"] == message["Message-ID"]
    assert outbox["to"] == "j***@e***.org"


def test_implicit_tls(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    with SmtpInbox(*cert, implicit_tls=True) as inbox:
        r = make_raccord(territory(inbox.port, security="tls"), tmp_path)
        try:
            send(r)
            run_jobs(r)
            assert len(inbox.messages) == 1
        finally:
            r.close()


def test_an_untrusted_certificate_is_refused_and_names_ca_bundle(tmp_path: Path, inbox: SmtpInbox) -> None:
    r = make_raccord(territory(inbox.port, ca=False), tmp_path)
    try:
        accepted = send(r)
        run_jobs(r, rounds=1)
        job = job_status(r, accepted.job_id)
        assert job.status == "queued" and "cannot verify" in job.error and "ca_bundle" in job.error
        assert inbox.messages == []
    finally:
        r.close()


def test_smtp_down_loses_nothing_and_sends_once_it_is_back(raccord: Raccord, inbox: SmtpInbox) -> None:
    inbox.stop()
    accepted = send(raccord)
    assert send(raccord) == accepted  # the same key is one message
    run_jobs(raccord, rounds=1)
    job = job_status(raccord, accepted.job_id)
    assert job.status == "queued" and job.attempts == 0  # down: deferred, no attempt spent
    assert "cannot be reached" in (job.error or "")
    inbox.start()
    time.sleep(0.05)
    run_jobs(raccord)
    assert job_status(raccord, accepted.job_id).status == "done" and len(inbox.messages) == 1
    # Run the job again (a crash after the 250, before its outcome was written): not resent.
    bound = raccord.bound("metz", "courriel")
    from framework.connector import JobRun

    again = bound.jobs["send"].func(bound.connector, JobRun(payload=job_status(raccord, accepted.job_id).payload))
    assert again["state"] == "sent" and len(inbox.messages) == 1


def test_a_stalling_server_is_cut_at_the_total_deadline(tmp_path: Path, inbox: SmtpInbox) -> None:
    inbox.stall_seconds = 30
    r = make_raccord(territory(inbox.port).replace("deadline = 5.0", "deadline = 1.0"), tmp_path)
    try:
        accepted = send(r)
        started = time.monotonic()
        run_jobs(r, rounds=1)
        assert time.monotonic() - started < 5
        assert "did not complete the delivery within 1 s" in (job_status(r, accepted.job_id).error or "")
    finally:
        inbox.stall_seconds = 0
        r.close()


def test_a_hosted_commune_is_spoken_for_by_the_multicommunal_binding(raccord: Raccord, inbox: SmtpInbox) -> None:
    send(raccord, "communes/courriel", on_behalf_of="woippy")
    run_jobs(raccord)
    (message,) = inbox.messages
    assert message["From"] == "Woippy <noreply@woippy.example>"
    assert message["Reply-To"] == "Woippy <mairie@woippy.example>"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    # Woippy's own colour and name; the logo it has none of is its host's.
    assert "#1f7a5c" in html and ">Woippy<" in html and "https://communes.example/logo.svg" in html
    assert "Les services de Woippy" in html
    with pytest.raises(Forbidden, match="does not serve 'metz'"):
        send(raccord, "communes/courriel", on_behalf_of="metz", key="x")


def test_the_citizen_address_is_in_no_log_and_no_journal_row(raccord: Raccord, inbox: SmtpInbox,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inbox.stop()
    send(raccord)
    run_jobs(raccord, rounds=1)  # a failure is logged too
    inbox.start()
    time.sleep(0.05)
    run_jobs(raccord)
    assert len(inbox.messages) == 1
    raccord.outbound.journal.flush()
    with raccord.db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(journal))]
    assert any(r["method"] == "SMTP" and r["status"] == 250 for r in rows)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("raccord"))
    assert CITIZEN not in ours and CITIZEN not in repr(rows)
    assert "j***@e***.org" in ours


def test_a_refused_recipient_is_a_permanent_error_with_the_address_masked(raccord: Raccord,
                                                                          inbox: SmtpInbox) -> None:
    async def refuse(*args: object) -> str:
        return "550 5.1.1 <jean.dupont@example.org>: no such user"

    inbox.handle_RCPT = refuse  # type: ignore[method-assign]
    accepted = send(raccord)
    run_jobs(raccord, rounds=1)
    job = job_status(raccord, accepted.job_id)
    assert job.status == "dead" and "refused the recipient j***@e***.org" in job.error and CITIZEN not in job.error


def test_a_commune_template_is_a_declared_override(tmp_path: Path, inbox: SmtpInbox) -> None:
    own = tmp_path / "templates-metz"
    own.mkdir()
    (own / "status.subject.txt").write_text("Metz vous informe", encoding="utf-8")
    undeclared = territory(inbox.port, metz_settings='template_dir = "templates-metz"')
    assert any("override" in str(f) for f in check_text(undeclared, tmp_path).errors)
    declared = undeclared + """
[instances.metz.overrides.courriel]
reason = "Metz a sa propre charte pour les courriels"
owner = "Communication, Ville de Metz"
review_by = 2027-06-30
cost = { setup_days = 0.5, yearly_days = 0.1 }
"""
    r = make_raccord(declared, tmp_path)
    try:
        preview = call(r, "metz/courriel/preview")
        assert preview["subject"] == "Metz vous informe"  # its own subject, the common body
        assert "Votre signalement" in preview["text"]
        assert r.endpoint("metz", "courriel", "preview")[1].override == "metz/courriel"
    finally:
        r.close()


def test_check_reports_bad_senders_and_missing_template_dirs(tmp_path: Path) -> None:
    text = territory(free_port(), metz_settings='template_dir = "nope"').replace(
        'sender = "noreply@metz.example"', 'sender = "noreply"')
    errors = [str(f) for f in check_text(text, tmp_path).errors]
    assert any("sender = 'noreply' is not an address" in e for e in errors), errors
    assert any("template_dir 'nope' is not a directory" in e for e in errors), errors


def test_a_bad_template_is_a_clear_error(tmp_path: Path, inbox: SmtpInbox) -> None:
    r = make_raccord(territory(inbox.port), tmp_path)
    try:
        with pytest.raises(BadRequest, match=r"no template 'nope\.subject\.txt'"):
            call(r, "metz/courriel/preview", template="nope")
    finally:
        r.close()
