"""Routing on the example territory (instances.toml: Metz Métropole, its matrix and
Metz's declared exception), in process; addresses are in test_address.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework import BadRequest, Connector, Forbidden, JobRun, NotFound, RequestStore, hookimpl, job
from framework.app import Raccord, check_config
from framework.plugins import make_plugin_manager
from framework.runtime.queue import list_jobs
from framework.storage import open_database
from framework.testing import call, make_raccord
from tests.conftest import ROOT

METZ_CENTRE = {"lon": 6.1757, "lat": 49.1193}


@pytest.fixture(scope="module")
def example() -> tuple[Any, Any, Any]:
    """The example territory, loaded and checked once for the module."""
    pm = make_plugin_manager()
    territory, report, registry = check_config(str(ROOT / "instances.toml"), pm)
    assert territory is not None and report.ok, report.errors
    return territory, registry, pm


@pytest.fixture
def metro(example: tuple[Any, Any, Any], tmp_path: Path) -> Iterator[Raccord]:
    territory, registry, pm = example
    app = Raccord(territory, registry, open_database(f"sqlite:///{tmp_path / 'r.sqlite3'}"), pm)
    yield app
    app.close()


def route(app: Raccord, **body: Any) -> Any:
    body.setdefault("form_url", "https://demarches.metzmetropole.fr/signalement/42/")
    return app.invoke("metropole", "aiguillage", "route", method="POST", body=body, client="metropole.wcs")


def test_a_commune_competence_goes_to_the_commune_by_its_insee_code(metro: Raccord) -> None:
    answer = route(metro, category="etat_civil", insee="57480", summary="Acte de naissance")
    assert answer["status"] == "new" and answer["decided_by"] == "insee"
    assert answer["responsible"]["instance"] == "montigny-les-metz"
    assert answer["responsible"]["name"] == "Ville de Montigny-lès-Metz"
    assert answer["responsible"]["identity"]["color"] == "#1f5f7a"
    assert answer["responsible"]["served_by"] == "montigny-les-metz"
    assert answer["commune"] == {"insee": "57480", "name": "Ville de Montigny-lès-Metz"}


def test_a_hosted_commune_is_served_by_the_multicommunal_instance(metro: Raccord) -> None:
    answer = route(metro, category="cimetiere", insee="57017")
    assert answer["responsible"]["instance"] == "amanvillers"
    assert answer["responsible"]["served_by"] == "communes"
    assert answer["responsible"]["inbox"] == "/amanvillers/demandes/inbox"
    # No identity of its own: the hosting chain's (communes → metropole) shows.
    assert answer["responsible"]["identity"]["logo"] == "https://www.metzmetropole.fr/logo.svg"
    assert metro.territory.identity("amanvillers") == metro.territory.identity("metropole")
    assert metro.territory.identity("metz")["color"] == "#7a1f3d"  # its own wins over nothing inherited
    assert metro.territory.identity("nowhere") == {}


def test_a_metropolitan_competence_goes_to_the_metropolis_with_the_polygon_as_evidence(metro: Raccord) -> None:
    answer = route(metro, category="voirie", point=METZ_CENTRE)
    assert (answer["decided_by"], answer["responsible"]["instance"]) == ("point", "metropole")
    assert answer["evidence"]["polygon"] == "57463" and answer["evidence"]["polygon_name"] == "Metz"
    assert answer["commune"]["insee"] == "57463"


def test_metz_exception_sends_its_propreté_to_the_city_and_others_to_the_metropolis(metro: Raccord) -> None:
    metz = route(metro, category="proprete", insee="57463")
    woippy = route(metro, category="proprete", insee="57751")
    assert (metz["responsible"]["instance"], metz["responsible"]["rule"]) == ("metz", "exception")
    assert (woippy["responsible"]["instance"], woippy["responsible"]["rule"]) == ("metropole", "matrix")


def test_the_origin_commune_decides_only_when_nothing_better_is_given(metro: Raccord) -> None:
    by_origin = route(metro, category="espaces_verts", origin="marly")
    assert (by_origin["decided_by"], by_origin["responsible"]["instance"]) == ("origin", "marly")
    by_code = route(metro, category="espaces_verts", origin="57447")
    assert by_code["responsible"]["instance"] == "marly"
    point_wins = route(metro, category="espaces_verts", origin="marly", point=METZ_CENTRE)
    assert point_wins["responsible"]["instance"] == "metz"


@pytest.mark.parametrize(("body", "reason"), [
    ({"category": "piscine", "insee": "57463"}, "unknown_category"),
    ({"category": "voirie", "point": {"lon": 2.3469, "lat": 48.8589}}, "outside_territory"),
    ({"category": "voirie", "insee": "75056"}, "outside_territory"),
    ({"category": "voirie"}, "no_location"),
    ({"category": "voirie", "origin": "paris"}, "outside_territory"),
])
def test_what_no_referential_decides_waits_in_the_first_recipients_queue(
        metro: Raccord, body: dict[str, Any], reason: str) -> None:
    answer = route(metro, **body)
    assert answer["status"] == "triage" and answer["responsible"] is None and answer["decided_by"] is None
    assert answer["triage"] == {"queue": "metropole", "reason": reason}
    queue = call(metro, "metropole/aiguillage/triage")
    assert [r["id"] for r in queue] == [answer["id"]]


def test_an_agent_assigns_by_hand_and_the_history_says_who_and_why(metro: Raccord) -> None:
    waiting = route(metro, category="piscine", insee="57463", summary="Bassin fermé")
    done = metro.invoke("metropole", "aiguillage", "assign", method="POST", client="metropole.agents",
                        body={"request_id": waiting["id"], "instance": "metz", "reason": "piscine municipale",
                              "agent": "a.triage@metzmetropole.fr"})
    assert (done["status"], done["decided_by"], done["responsible"]["instance"]) == ("new", "manual", "metz")
    one = metro.invoke("metz", "demandes", "inbox", path=str(waiting["id"]))
    last = one["history"][-1]
    assert (last["event"], last["actor"], last["note"]) == (
        "assigned", "a.triage@metzmetropole.fr via metropole.agents", "piscine municipale")
    assert one["form_url"] == "https://demarches.metzmetropole.fr/signalement/42/"
    assert call(metro, "metropole/aiguillage/triage") == []
    with pytest.raises(BadRequest, match="not in triage"):
        metro.invoke("metropole", "aiguillage", "assign", method="POST",
                     body={"request_id": waiting["id"], "instance": "marly", "reason": "second try"})


def test_assigning_to_an_instance_without_inbox_is_refused(metro: Raccord) -> None:
    waiting = route(metro, category="piscine", insee="57463")
    with pytest.raises(BadRequest, match="no inbox"):
        metro.invoke("metropole", "aiguillage", "assign", method="POST",
                     body={"request_id": waiting["id"], "instance": "communes", "reason": "no inbox there"})
    with pytest.raises(NotFound):
        metro.invoke("metropole", "aiguillage", "assign", method="POST",
                     body={"request_id": 999, "instance": "metz", "reason": "unknown"})


def test_an_inbox_lists_only_its_own_requests_with_filters_and_pages(metro: Raccord) -> None:
    mine = [route(metro, category="etat_civil", insee="57463", summary=f"acte {n}")["id"] for n in range(3)]
    route(metro, category="etat_civil", insee="57480")
    route(metro, category="voirie", insee="57463")  # the metropolis', not Metz's
    listed = call(metro, "metz/demandes/inbox")
    assert [r["id"] for r in listed] == mine[::-1]
    assert all(set(r) >= {"id", "text"} for r in listed)
    assert [r["id"] for r in call(metro, "metz/demandes/inbox", limit=2, offset=1)] == mine[1::-1]
    assert [r["id"] for r in call(metro, "metz/demandes/inbox", q="ACTE 1")] == [mine[1]]
    assert [r["id"] for r in call(metro, "metz/demandes/inbox", id=str(mine[0]))] == [mine[0]]
    assert call(metro, "metz/demandes/inbox", category="voirie") == []
    assert call(metro, "metz/demandes/inbox", until="2000-01-01") == []
    assert len(call(metro, "metz/demandes/inbox", since="2000-01-01", status="new")) == 3
    other = call(metro, "montigny-les-metz/demandes/inbox")[0]["id"]
    with pytest.raises(NotFound):
        metro.invoke("metz", "demandes", "inbox", path=str(other))
    assert call(metro, "metz/demandes/inbox", id=str(other)) == []


def test_the_responsible_instance_moves_its_request_on_and_reassigning_sends_it_back(metro: Raccord) -> None:
    ident = route(metro, category="etat_civil", insee="57463")["id"]
    for status in ("received", "in_progress"):
        moved = metro.invoke("metz", "demandes", "inbox", method="POST", path=str(ident),
                             body={"status": status, "agent": "agent@metz.fr"}, client="metz.wcs")
        assert moved["status"] == status
    with pytest.raises(NotFound):  # Montigny cannot touch Metz's request
        metro.invoke("montigny-les-metz", "demandes", "inbox", method="POST", path=str(ident),
                     body={"status": "done"})
    back = metro.invoke("metz", "demandes", "inbox", method="POST", path=str(ident),
                        body={"status": "reassigned", "note": "concerne Montigny"}, client="metz.wcs")
    assert back["status"] == "triage" and back["triage"] == {"queue": "metropole", "reason": "reassigned"}
    assert [e["event"] for e in back["history"]] == ["dispatched", "status", "status", "reassigned"]
    assert call(metro, "metz/demandes/inbox") == []
    assert [r["id"] for r in call(metro, "metropole/aiguillage/triage", reason="reassigned")] == [ident]


def test_statistics_count_automatic_and_triaged_per_category_and_commune(metro: Raccord) -> None:
    route(metro, category="voirie", insee="57463")
    route(metro, category="voirie", insee="57463")
    waiting = route(metro, category="voirie", point={"lon": 2.35, "lat": 48.86})
    route(metro, category="piscine", insee="57463")
    metro.invoke("metropole", "aiguillage", "assign", method="POST",
                 body={"request_id": waiting["id"], "instance": "metropole", "reason": "vu sur la carte"})
    rows = {(r["category"], r["commune"]): r for r in call(metro, "metropole/aiguillage/stats", since="2000-01-01")}
    assert rows[("voirie", "57463")] | {"triage_reasons": None} == {
        "category": "voirie", "commune": "57463", "total": 2, "automatic": 2, "triage": 0, "triage_reasons": None}
    assert rows[("voirie", None)]["triage_reasons"] == {"outside_territory": 1}
    assert rows[("piscine", "57463")]["triage"] == 1
    assert call(metro, "metropole/aiguillage/stats", until="2000-01-01") == []
    with pytest.raises(BadRequest, match="not a date"):
        call(metro, "metropole/aiguillage/stats", since="yesterday")


class Listener(Connector):
    """A connector of the responsible instance that wants to hear of its requests (what
    an open311 or e-mail connector does): it declares the job ``request_dispatched``."""

    id = "listener"
    title = "test listener"

    @job(schedule="weekly")
    def request_dispatched(self, run: JobRun) -> None:
        request = RequestStore(self.store.db).get(run.payload["request_id"], instance=self.ctx.instance.name)
        assert request is not None
        self.store.put("heard", [(str(request.id), request.category, {"form_url": request.form_url})])


class ListenerPlugin:
    @hookimpl
    def raccord_register_connectors(self, register: Any) -> None:
        register.add(Listener)


SMALL = """
[territory]
name = "Petit territoire"
triage = "metro"

[profiles.aiguillage]
connector = "dispatch"
settings = { geocoder = "", competences = { voirie = "metro", etat_civil = "commune" } }

[profiles.demandes]
connector = "dispatch_inbox"

[profiles.ecoute]
connector = "listener"

[instances.metro]
name = "Métropole"
kind = "metropole"
profiles = ["aiguillage", "demandes"]

[instances.ville]
name = "Ville"
insee = ["57463"]
profiles = ["demandes", "ecoute"]

[instances.autre]
name = "Autre"
insee = ["57480"]
profiles = ["demandes", "ecoute"]
"""


def test_a_dispatch_queues_the_job_of_the_responsible_instances_bindings_that_declare_it(tmp_path: Path) -> None:
    app = make_raccord(SMALL, tmp_path, plugins=[ListenerPlugin()])
    try:
        answer = app.invoke("metro", "aiguillage", "route", method="POST",
                            body={"category": "etat_civil", "insee": "57463", "form_url": "https://f/1"})
        app.invoke("metro", "aiguillage", "route", method="POST", body={"category": "voirie", "insee": "57463"})
        queued = list_jobs(app.db, instance="ville")
        assert [(j.profile, j.name, j.payload["request_id"]) for j in queued] == [
            ("ecoute", "request_dispatched", answer["id"])]
        assert list_jobs(app.db, instance="autre") == []
        bound = app.bound("ville", "ecoute")
        bound.jobs["request_dispatched"].func(bound.connector, JobRun(payload=queued[0].payload))
        assert bound.connector.store.get("heard", str(answer["id"])) == {"form_url": "https://f/1"}
    finally:
        app.close()


def test_redispatch_leaves_requests_triaged_for_other_reasons(metro: Raccord) -> None:
    route(metro, category="piscine", insee="57463")
    bound = metro.bound("metropole", "aiguillage")
    bound.jobs["redispatch"].func(bound.connector, JobRun())
    assert len(call(metro, "metropole/aiguillage/triage")) == 1


def test_a_hosted_commune_without_a_grant_is_closed_to_the_multicommunal_instance(tmp_path: Path) -> None:
    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    text = text.replace('boundaries = "data/', f'boundaries = "{ROOT}/data/', 1)
    woippy = text.index("[instances.woippy]")
    text = text[:woippy] + text[woippy:].replace('grants = ["communes.wcs"]\n', "", 1)
    app = make_raccord(text, tmp_path)
    try:
        communes = app.caller("communes.wcs")
        assert app.invoke("vany", "demandes", "inbox", caller=communes) == []
        with pytest.raises(Forbidden, match="not allowed on instance 'woippy'"):
            app.invoke("woippy", "demandes", "inbox", caller=communes)
        with pytest.raises(Forbidden, match="inbox"):  # granted on metz, but not for inboxes
            app.invoke("metz", "demandes", "inbox", caller=app.caller("metropole.wcs"))
    finally:
        app.close()
