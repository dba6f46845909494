"""open311 against a fake GeoReport v2 server (tests/connectors/open311/open311_server.py)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.open311 import georeport
from framework import Accepted, BadRequest, Forbidden, NotFound, RaccordError, UpstreamError
from framework.app import Raccord
from framework.testing import call, check_text, make_raccord
from tests.connectors.open311.open311_server import Open311Server
from tests.connectors.open311.support import API_KEY, API_KEY_ENV, job_status, run_jobs, territory

REPORT = {"service_code": "voirie", "external_id": "form-1", "description": "Nid-de-poule devant le 12",
          "lat": 49.1193, "long": 6.1757, "email": "jean.dupont@example.org", "attributes": {"danger": "oui"}}


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)


@pytest.fixture
def metz() -> Iterator[Open311Server]:
    with Open311Server() as server:
        yield server


@pytest.fixture
def communes() -> Iterator[Open311Server]:
    with Open311Server(jurisdictions=("communes", "woippy.metzmetropole.fr")) as server:
        yield server


def open_territory(tmp_path: Path, metz: Open311Server, communes: Open311Server, **kwargs: str) -> Raccord:
    return make_raccord(territory(metz.url, communes.url, **kwargs), tmp_path)


@pytest.fixture
def raccord(tmp_path: Path, metz: Open311Server, communes: Open311Server) -> Iterator[Raccord]:
    r = open_territory(tmp_path, metz, communes)
    yield r
    r.close()


# -- services and definitions ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_and_definitions_are_read_in_json_and_xml(tmp_path: Path, metz: Open311Server,
                                                           communes: Open311Server, fmt: str) -> None:
    r = open_territory(tmp_path, metz, communes, fmt=fmt)
    try:
        items = call(r, "metz/signalements/services")
        assert [i["id"] for i in items] == ["voirie", "eclairage"]
        assert items[0]["text"] == "Voirie (nid-de-poule, trottoir)" and items[0]["metadata"] is True
        assert items[1]["metadata"] is False and items[1]["group"] == "Espace public"
        assert [i["id"] for i in call(r, "metz/signalements/services", q="éclairage")] == ["eclairage"]
        assert [i["id"] for i in call(r, "metz/signalements/services", id="voirie")] == ["voirie"]
        definition = call(r, "metz/signalements/service_definition", service_code="voirie")
        (danger,) = definition["attributes"]
        assert danger["code"] == "danger" and danger["required"] is True and danger["order"] == 1
        assert [v["id"] for v in danger["values"]] == ["oui", "non"]
        assert any(f"services.{fmt}" in seen for seen in metz.seen)
    finally:
        r.close()


def test_a_service_code_cannot_climb_out_of_the_api(raccord: Raccord, metz: Open311Server) -> None:
    # Found by the OpenAPI fuzz (tests/adversarial/): service_definition is open, and its
    # service_code was split on "/" into path segments: "../../x" left /open311/v2/.
    with pytest.raises(RaccordError):
        call(raccord, "metz/signalements/service_definition", service_code="../../admin/x")
    (seen,) = [s for s in metz.seen if "admin" in s]
    assert "/services/..%2F..%2Fadmin%2Fx.json" in seen
    assert georeport.resource_url("https://h/v2/", "requests/12", "xml") == "https://h/v2/requests/12.xml"
    assert georeport.resource_url("https://h/v2/", "services", "json") == "https://h/v2/services.json"


def test_the_harmonised_list_is_served_without_asking_the_server(tmp_path: Path, metz: Open311Server,
                                                                 communes: Open311Server) -> None:
    settings = 'request_types = [{ code = "voirie", name = "Voirie", group = "Espace public" }]'
    r = open_territory(tmp_path, metz, communes, profile_settings=settings)
    try:
        assert call(r, "metz/signalements/services")[0]["text"] == "Voirie"
        assert not any("services" in seen for seen in metz.seen)
    finally:
        r.close()


def test_a_commune_keeping_its_own_categories_is_a_declared_override(tmp_path: Path, metz: Open311Server,
                                                                     communes: Open311Server) -> None:
    undeclared = territory(metz.url, communes.url).replace(
        f'endpoint_url = "{metz.url}"', f'endpoint_url = "{metz.url}"\nrequest_types = [{{ code = "m", name = "M" }}]')
    report = check_text(undeclared, tmp_path)
    assert any("override" in str(f) for f in report.errors), [str(f) for f in report.errors]
    declared = undeclared + """
[instances.metz.overrides.signalements]
reason = "Metz garde ses catégories de voirie"
owner = "DSI Metz"
review_by = 2027-06-30
cost = { setup_days = 0.5, yearly_days = 0.1 }
"""
    assert check_text(declared, tmp_path).ok
    r = make_raccord(declared, tmp_path)
    try:
        assert [i["id"] for i in call(r, "metz/signalements/services")] == ["m"]
        assert r.endpoint("metz", "signalements", "services")[1].override == "metz/signalements"
    finally:
        r.close()


# -- creating ------------------------------------------------------------------------------


def test_create_returns_the_ticket_and_the_same_request_twice_is_one_ticket(raccord: Raccord,
                                                                            metz: Open311Server) -> None:
    photo = base64.b64encode(b"\xff\xd8jpeg").decode()
    body = {**REPORT, "attachments": [{"filename": "photo.jpg", "content_type": "image/jpeg", "content": photo}]}
    first = call(raccord, "metz/signalements/create", method="POST", body=body)
    assert first["service_request_id"] == "1001" and first["id"] == "form-1" and first["on_behalf_of"] == "metz"
    again = call(raccord, "metz/signalements/create", method="POST", body=body)
    assert again["service_request_id"] == "1001"
    assert len(metz.posts) == 1
    (ticket,) = metz.tickets.values()
    assert ticket.media == b"\xff\xd8jpeg"
    assert ticket.fields["attribute[danger]"] == "oui" and ticket.fields["api_key"] == API_KEY
    assert ticket.fields["lat"] == "49.1193" and ticket.fields["email"] == "jean.dupont@example.org"
    status = call(raccord, "metz/signalements/status", id="form-1")
    assert status["service_request_id"] == "1001" and status["state"] == "created"
    assert status["notify"] == {"email": "j***@e***.org"}  # masked for whoever reads it
    assert [e["event"] for e in status["history"]] == ["created"]


def test_without_external_id_an_identical_body_is_the_same_request(raccord: Raccord, metz: Open311Server) -> None:
    body = {k: v for k, v in REPORT.items() if k != "external_id"}
    a = call(raccord, "metz/signalements/create", method="POST", body=body)
    b = call(raccord, "metz/signalements/create", method="POST", body=body)
    c = call(raccord, "metz/signalements/create", method="POST", body={**body, "description": "un autre"})
    assert a == b and a["id"].startswith("r-") and c["service_request_id"] != a["service_request_id"]
    assert len(metz.posts) == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_server_errors_become_clear_envelopes(tmp_path: Path, metz: Open311Server, communes: Open311Server,
                                              fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    r = open_territory(tmp_path, metz, communes, fmt=fmt)
    try:
        with pytest.raises(BadRequest, match="service_code nope not found"):
            call(r, "metz/signalements/create", method="POST", body={**REPORT, "service_code": "nope"})
        with pytest.raises(BadRequest, match="attribute danger is required"):
            call(r, "metz/signalements/create", method="POST", body={**REPORT, "external_id": "2",
                                                                    "attributes": {}})
        with pytest.raises(NotFound, match="service_code nope not found"):
            call(r, "metz/signalements/service_definition", service_code="nope")
        # A refused api_key is the admin's to fix: the request waits in the queue (nothing
        # lost) and the job's error says what to check, without the key.
        monkeypatch.setenv(API_KEY_ENV, "wrong")
        accepted = call(r, "metz/signalements/create", method="POST", body={**REPORT, "external_id": "3"})
        assert isinstance(accepted, Accepted)
        run_jobs(r, rounds=1)
        error = job_status(r, accepted.job_id).error
        assert "Invalid api_key" in error and "check the api_key" in error and "wrong" not in error
        assert metz.tickets == {}
    finally:
        r.close()


def test_a_request_without_location_is_refused_before_calling(raccord: Raccord, metz: Open311Server) -> None:
    with pytest.raises(BadRequest, match="no location"):
        call(raccord, "metz/signalements/create", method="POST",
             body={"service_code": "voirie", "description": "x"})
    assert metz.seen == []


def test_server_down_queues_the_request_and_delivers_it_once_back(raccord: Raccord, metz: Open311Server) -> None:
    metz.down = True
    accepted = call(raccord, "metz/signalements/create", method="POST", body=REPORT)
    assert isinstance(accepted, Accepted)
    # The caller retrying while it is still down gets the same job, not a second one.
    assert call(raccord, "metz/signalements/create", method="POST", body=REPORT) == accepted
    run_jobs(raccord, rounds=1)
    assert job_status(raccord, accepted.job_id).status == "queued"  # failed, waits its backoff
    metz.down = False
    time.sleep(0.05)
    run_jobs(raccord)
    job = job_status(raccord, accepted.job_id)
    assert job.status == "done" and job.result["service_request_id"] == "1001"
    assert len(metz.posts) == 1
    history = call(raccord, "metz/signalements/status", id="form-1")["history"]
    assert [e["event"] for e in history] == ["queued", "created"]
    assert "503" in history[0]["reason"]


def test_a_lost_answer_is_recovered_from_the_server_instead_of_posting_again(raccord: Raccord,
                                                                             metz: Open311Server) -> None:
    metz.hold_post = threading.Event()  # the request is created, its answer comes after read_timeout
    accepted = call(raccord, "metz/signalements/create", method="POST", body=REPORT)
    assert isinstance(accepted, Accepted)
    metz.hold_post.set()
    metz.hold_post = None
    run_jobs(raccord)
    assert job_status(raccord, accepted.job_id).status == "done"
    assert len(metz.posts) == 1 and list(metz.tickets) == ["1001"]
    events = [e["event"] for e in call(raccord, "metz/signalements/status", id="form-1")["history"]]
    assert events == ["queued", "recovered", "created"]


def test_a_hosted_commune_goes_through_the_multicommunal_binding_with_its_jurisdiction(
        raccord: Raccord, communes: Open311Server) -> None:
    created = call(raccord, "communes/signalements/create", method="POST",
                   body={**REPORT, "on_behalf_of": "woippy"})
    assert created["on_behalf_of"] == "woippy"
    assert communes.posts[0]["jurisdiction_id"] == "woippy.metzmetropole.fr"
    with pytest.raises(Forbidden, match="does not serve 'metz'"):
        call(raccord, "communes/signalements/create", method="POST", body={**REPORT, "on_behalf_of": "metz"})


def test_check_reports_a_notify_profile_that_is_not_an_email_binding(tmp_path: Path) -> None:
    text = territory("https://a.example/v2/", "https://b.example/v2/",
                     profile_settings='notify_profile = "signalements"')
    errors = [str(f) for f in check_text(text, tmp_path).errors]
    assert any("no e-mail binding 'signalements'" in e for e in errors), errors
    bad = territory("https://a.example/v2/", "https://b.example/v2/").replace(
        'jurisdictions = { woippy', 'jurisdictions = { metz = "x", woippy')
    errors = [str(f) for f in check_text(bad, tmp_path).errors]
    assert any("'metz', which is not hosted by communes" in e for e in errors), errors


# -- following -----------------------------------------------------------------------------


def _create(raccord: Raccord, n: int, target: str = "metz/signalements") -> str:
    created = call(raccord, f"{target}/create", method="POST", body={**REPORT, "external_id": f"form-{n}"})
    return str(created["service_request_id"])


def test_poll_uses_one_bulk_query_and_records_each_change_until_final(raccord: Raccord,
                                                                      metz: Open311Server) -> None:
    ids = [_create(raccord, n) for n in range(3)]
    metz.seen.clear()
    assert call_poll(raccord) == {"followed": 3, "changed": 3, "final": 0}  # first status seen for each
    assert metz.seen == [f"GET /open311/v2/requests.json?service_request_id={'%2C'.join(ids)}"]
    assert call_poll(raccord)["changed"] == 0
    metz.set_status(ids[0], "open", "Équipe prévenue")
    assert call_poll(raccord)["changed"] == 1
    metz.set_status(ids[0], "closed", "Rebouché")
    assert call_poll(raccord) == {"followed": 3, "changed": 1, "final": 1}
    history = call(raccord, "metz/signalements/status", id="form-0")["history"]
    assert [(e["event"], e.get("status"), e.get("notes")) for e in history] == [
        ("created", None, None), ("status", "open", None), ("status", "open", "Équipe prévenue"),
        ("status", "closed", "Rebouché")]
    assert all(e["at"] for e in history)
    metz.seen.clear()
    assert call_poll(raccord)["followed"] == 2  # a final request is no longer polled
    assert ids[0] not in metz.seen[0]


def call_poll(raccord: Raccord) -> dict[str, int]:
    from framework.connector import JobRun

    bound = raccord.bound("metz", "signalements")
    result: dict[str, int] = bound.jobs["poll"].func(bound.connector, JobRun())
    return result


def test_a_server_without_bulk_query_is_polled_one_by_one(raccord: Raccord, metz: Open311Server) -> None:
    ids = [_create(raccord, n) for n in range(2)]
    metz.bulk = False  # it ignores service_request_id and answers every request it has
    metz.set_status(ids[1], "closed")
    assert call_poll(raccord) == {"followed": 2, "changed": 2, "final": 1}
    assert call(raccord, "metz/signalements/requests", ids=",".join(ids))[1]["status"] == "closed"


def test_tokens_are_resolved_by_the_poll(raccord: Raccord, metz: Open311Server) -> None:
    metz.tokens = True
    created = call(raccord, "metz/signalements/create", method="POST", body=REPORT)
    assert created["service_request_id"] is None and created["token"] == "tok-1001"
    call_poll(raccord)
    status = call(raccord, "metz/signalements/status", id="form-1")
    assert status["service_request_id"] == "1001" and status["status"] == "open"
    assert [e["event"] for e in status["history"]] == ["created", "token_resolved", "status"]
    assert call(raccord, "metz/signalements/status", service_request_id="1001")["ref"] == "form-1"


# -- the wire format -------------------------------------------------------------------------


def test_xml_answers_with_missing_fields_and_a_doctype_refused() -> None:
    xml = (b"<?xml version='1.0'?><service_requests><request><service_request_id>7</service_request_id>"
           b"<status>Open</status><lat>49.1</lat></request></service_requests>")
    (item,) = georeport.decode(xml, "application/json", "h")  # the Content-Type lies: the body decides
    fields = georeport.request_fields(item)
    assert fields["service_request_id"] == "7" and fields["status"] == "open" and fields["lat"] == 49.1
    assert fields["long"] is None and fields["status_notes"] is None and fields["media_url"] is None
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><errors><error>&a;</error></errors>'
    with pytest.raises(UpstreamError, match="DOCTYPE"):
        georeport.decode(bomb, "text/xml", "h")
    with pytest.raises(UpstreamError, match="neither JSON nor XML"):
        georeport.decode(b"oops", "text/html", "h")
    # An error array in a 200 answer is still an error.
    with pytest.raises(BadRequest, match="bad lat"):
        georeport.raise_for(200, [{"code": 400, "description": "bad lat"}], "h", "the request")


def test_raccord_history_shows_the_ticket_each_status_and_nothing_for_an_unknown_ref(
        raccord: Raccord, metz: Open311Server, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from framework.cli import cli
    from framework.cli.history import gather

    ticket = _create(raccord, 1)
    metz.set_status(ticket, "closed", "Fait")
    call_poll(raccord)
    by_ref, by_ticket = gather(raccord, "form-1"), gather(raccord, ticket)
    assert by_ref == by_ticket
    assert [(e["event"], e["detail"]) for e in by_ref] == [
        ("created", "ticket 1001 for metz"), ("status", "closed: Fait")]
    assert all(e["instance"] == "metz" and e["profile"] == "signalements" for e in by_ref)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "instances.toml"), "history", "nope"])
    assert result.exit_code == 1 and "nothing is known of 'nope'" in str(result.exception)


def test_a_hosted_commune_not_mapped_is_known_by_its_insee_code(tmp_path: Path, metz: Open311Server,
                                                                communes: Open311Server) -> None:
    text = territory(metz.url, communes.url).replace('jurisdictions = { woippy = "woippy.metzmetropole.fr" }', "")
    r = make_raccord(text, tmp_path)
    communes.jurisdictions = ("communes", "57751")
    try:
        call(r, "communes/signalements/create", method="POST", body={**REPORT, "on_behalf_of": "woippy"})
        call(r, "communes/signalements/create", method="POST", body={**REPORT, "external_id": "own"})
        assert [p["jurisdiction_id"] for p in communes.posts] == ["57751", "communes"]
    finally:
        r.close()
