"""Inbox isolation through the RUNNING gateway (gunicorn), on the example territory:
every client of instances.toml against every instance's inbox — each sees exactly the
requests dispatched to the instances it may read, and nothing of the others."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.framework.gateway import signer
from tests.framework.gateway.conftest import Live

EXAMPLE = ROOT / "instances.toml"
pytestmark = pytest.mark.xdist_group("dispatch_gateway")  # one live server for the module
CONFIG = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
INSTANCES: dict[str, Any] = CONFIG["instances"]
INBOXES = sorted(name for name, inst in INSTANCES.items() if "demandes" in inst.get("profiles", []))
CLIENTS = sorted((f"{name}.{client}", body) for name, inst in INSTANCES.items()
                 for client, body in inst.get("clients", {}).items())
# What the metropolis' forms route (category, commune INSEE) and where each one goes.
SEED = [("etat_civil", "57463", "metz"), ("proprete", "57463", "metz"), ("etat_civil", "57480", "montigny-les-metz"),
        ("cimetiere", "57447", "marly"), ("etat_civil", "57017", "amanvillers"), ("espaces_verts", "57751", "woippy"),
        ("voirie", "57463", "metropole"), ("voirie", "57017", "metropole")]


def _env_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from _env_refs(value)


SECRETS = {name: f"secret-of-{name.lower()}" for name in _env_refs(CONFIG)}


def may_read(client_id: str, body: dict[str, Any], inbox: str) -> bool:
    """The rule the gateway must enforce: the instance's own client or one it grants,
    holding the `inbox` permission."""
    own = client_id.split(".")[0] == inbox or client_id in INSTANCES[inbox].get("grants", [])
    return own and "inbox" in body.get("permissions", [])


def credentials(body: dict[str, Any], query: str = "") -> tuple[str, dict[str, str]]:
    if "signature" in body:
        sig = body["signature"]
        base = f"{query}&orig={sig['orig']}" if query else f"orig={sig['orig']}"
        return signer.sign(base, SECRETS[sig["secret"]["env"]]), {}
    if "basic" in body:  # the example's admin client (status page) logs in with HTTP basic
        import base64

        pair = f"{body['basic']['username']}:{SECRETS[body['basic']['password']['env']]}"
        return query, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return query, {"X-API-Key": SECRETS[body["apikey"]["env"]]}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, dict[str, set[int]]]]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SECRETS.items():
            mp.setenv(name, value)
        db = tmp_path_factory.mktemp("dispatch") / "gw.sqlite3"
        live = Live(EXAMPLE, f"sqlite:///{db}")
    try:
        wcs = dict(CLIENTS)["metropole.wcs"]
        routed: dict[str, set[int]] = {}
        for category, insee, expected in SEED:
            query, headers = credentials(wcs)
            answer = live.request("POST", f"/metropole/aiguillage/route?{query}", headers=headers,
                                  json={"category": category, "insee": insee, "summary": f"{category} {insee}",
                                        "form_url": "https://demarches.metzmetropole.fr/f/1/"})
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            assert data["responsible"]["instance"] == expected, data
            routed.setdefault(expected, set()).add(data["id"])
        yield live, routed
    finally:
        live.stop()
        live.log.unlink(missing_ok=True)  # written beside instances.toml, i.e. in the checkout


def test_the_example_has_clients_and_inboxes_to_isolate() -> None:
    assert len(INBOXES) == 47 and len(CLIENTS) >= 7
    # Facts the matrix below relies on, stated plainly.
    clients = dict(CLIENTS)
    assert not may_read("metropole.wcs", clients["metropole.wcs"], "metz")  # granted, but no inbox permission
    assert may_read("communes.wcs", clients["communes.wcs"], "amanvillers")  # by amanvillers' grant
    assert not may_read("communes.wcs", clients["communes.wcs"], "metz")


@pytest.mark.parametrize(("client_id", "body"), CLIENTS, ids=[c for c, _ in CLIENTS])
def test_every_client_against_every_inbox_sees_only_what_it_may(
        example: tuple[Live, dict[str, set[int]]], client_id: str, body: dict[str, Any]) -> None:
    live, routed = example
    seen: dict[str, int] = {}
    for inbox in INBOXES:
        query, headers = credentials(body, "limit=200")
        answer = live.get(f"/{inbox}/demandes/inbox?{query}", headers=headers)
        envelope = answer.json()
        seen[inbox] = answer.status_code
        if may_read(client_id, body, inbox):
            assert answer.status_code == 200, (inbox, envelope)
            assert {item["id"] for item in envelope["data"]} == routed.get(inbox, set()), inbox
            assert all(item["instance"] == inbox for item in envelope["data"])
        else:
            assert answer.status_code == 403, (inbox, envelope)
            assert envelope["err"] == 1 and not envelope.get("data")
    assert any(code == 200 for code in seen.values()) == any(may_read(client_id, body, i) for i in INBOXES)


def test_a_reader_cannot_open_another_instances_request_by_id(example: tuple[Live, dict[str, set[int]]]) -> None:
    live, routed = example
    metz = dict(CLIENTS)["metz.wcs"]
    for other, ids in routed.items():
        for ident in ids:
            query, headers = credentials(metz)
            answer = live.get(f"/metz/demandes/inbox/{ident}?{query}", headers=headers)
            assert answer.status_code == (200 if other == "metz" else 404), (other, answer.text)
            if other == "metz":
                assert answer.json()["data"]["form_url"] == "https://demarches.metzmetropole.fr/f/1/"


def test_anonymous_callers_read_no_inbox(example: tuple[Live, dict[str, set[int]]]) -> None:
    live, _ = example
    for inbox in INBOXES:
        answer = live.get(f"/{inbox}/demandes/inbox")
        assert answer.status_code == 401 and answer.json()["err"] == 1


def test_status_updates_are_the_responsible_instances_own(example: tuple[Live, dict[str, set[int]]]) -> None:
    live, routed = example
    clients = dict(CLIENTS)
    ident = min(routed["montigny-les-metz"])
    query, headers = credentials(clients["metz.wcs"])
    refused = live.request("POST", f"/metz/demandes/inbox/{ident}?{query}", headers=headers,
                           json={"status": "done"})
    assert refused.status_code == 404
    query, headers = credentials(clients["montigny-les-metz.wcs"])
    done = live.request("POST", f"/montigny-les-metz/demandes/inbox/{ident}?{query}", headers=headers,
                        json={"status": "received", "agent": "agent@montigny.fr"})
    assert done.status_code == 200 and done.json()["data"]["status"] == "received"
    assert done.json()["data"]["history"][-1]["actor"] == "agent@montigny.fr via montigny-les-metz.wcs"


def test_triage_and_assign_need_the_triage_permission(example: tuple[Live, dict[str, set[int]]]) -> None:
    live, _ = example
    clients = dict(CLIENTS)
    query, headers = credentials(clients["metropole.wcs"])
    assert live.get(f"/metropole/aiguillage/triage?{query}", headers=headers).status_code == 403
    query, headers = credentials(clients["metropole.agents"])
    assert live.get(f"/metropole/aiguillage/triage?{query}", headers=headers).status_code == 200
