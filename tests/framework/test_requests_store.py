"""The shared store of mutualised requests, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from framework import TRIAGE, Decision, RequestStore, dispatch_stats, notify_dispatched
from framework.runtime.queue import list_jobs
from framework.storage import open_database

FIELDS = {"category": "voirie", "form_ref": "f/1", "summary": "trou", "form_url": "https://f/1",
          "location": {"insee": "57463"}}


def test_requests_are_read_per_instance_and_moved_on_only_by_their_own(database_url: str) -> None:
    db = open_database(database_url)
    store = RequestStore(db)
    metz = store.create("metropole", FIELDS, Decision("new", "insee", "metz", "57463", {"insee": "57463"}))
    other = store.create("metropole", FIELDS, Decision("new", "insee", "woippy", "57751"))
    assert store.get(metz.id, instance="metz") == metz and store.get(metz.id, instance="woippy") is None
    assert [r.id for r in store.search(instance="metz").items] == [metz.id]
    assert store.set_status(metz.id, "woippy", "done", actor="x") is None  # not Woippy's
    moved = store.set_status(metz.id, "metz", "in_progress", actor="agent via metz.wcs", note="vu")
    assert moved is not None and moved.status == "in_progress"
    assert [(h.event, h.status, h.actor) for h in moved.history] == [
        ("dispatched", "new", None), ("status", "in_progress", "agent via metz.wcs")]
    assert store.search(instance="woippy", status="in_progress").total == 0
    assert store.get(other.id, instance="woippy") is not None
    db.dispose()


def test_only_one_of_two_concurrent_assignments_wins(database_url: str) -> None:
    db = open_database(database_url)
    store = RequestStore(db)
    waiting = store.create("metropole", FIELDS, Decision(TRIAGE, None, None, None, {}, "metropole", "no_location"))
    first = store.decide(waiting.id, Decision("new", "manual", "metz"), event="assigned", actor="a",
                         expect_status=(TRIAGE,))
    second = store.decide(waiting.id, Decision("new", "manual", "woippy"), event="assigned", actor="b",
                          expect_status=(TRIAGE,))
    assert first is not None and first.instance == "metz" and second is None
    assert first.triage_reason == "no_location" and first.triaged  # kept for the statistics
    db.dispose()


def test_statistics_and_the_geocoder_backlog(database_url: str) -> None:
    db = open_database(database_url)
    store = RequestStore(db)
    store.create("metropole", FIELDS, Decision("new", "insee", "metropole", "57463"))
    down = store.create("metropole", {**FIELDS, "location": {"address": "x"}},
                        Decision(TRIAGE, "address", None, None, {}, "metropole", "geocoder_down",
                                 pending_geocoder=True))
    assert [r.id for r in store.waiting_for_geocoder("metropole")] == [down.id]
    assert store.waiting_for_geocoder("elsewhere") == []
    rows = dispatch_stats(db, since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert [(r["commune"], r["automatic"], r["triage"], r["triage_reasons"]) for r in rows] == [
        (None, 0, 1, {"geocoder_down": 1}), ("57463", 1, 0, {})]
    assert dispatch_stats(db, until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == []
    db.dispose()


def test_a_dispatch_notifies_each_binding_once(database_url: str) -> None:
    db = open_database(database_url)
    request = RequestStore(db).create("metropole", FIELDS, Decision("new", "insee", "metz", "57463"))
    first = notify_dispatched(db, request, [("metz", "signalements")])
    again = notify_dispatched(db, request, [("metz", "signalements")])
    assert first == again
    (job,) = list_jobs(db, instance="metz")
    assert (job.name, dict(job.payload)) == ("request_dispatched", {"request_id": request.id, "instance": "metz",
                                                                    "status": "new"})
    db.dispose()


def test_an_id_no_request_can_have_is_no_request(database_url: str) -> None:
    # Found by the OpenAPI fuzz (tests/adversarial/): inbox?id=9223372036854775808 was an incident.
    db = open_database(database_url)
    store = RequestStore(db)
    store.create("metropole", FIELDS, Decision("new", "insee", "metz", "57463"))
    for ident in (2**63, 10**30, 0, -1):
        assert store.get(ident) is None
        assert store.set_status(ident, "metz", "done", actor="x") is None
        assert store.decide(ident, Decision("new", "manual", "metz", "57463"), event="assigned") is None
    db.dispose()
