"""The plugin's fixtures and the gateway client, as a connector author uses them.

The territory uses the gateway tests' connector (tests/framework/gateway/fakes.py):
``echo`` is open and calls the business server, ``private`` needs ``can_access``,
``items`` takes a JSON body validated against a schema.
"""

from __future__ import annotations

import pytest
import responses

from framework.testing import (
    ANONYMOUS,
    ClientFactory,
    FakeServer,
    LiveFactory,
    TerritoryFactory,
    apikey,
    basic,
    call,
    run_job,
    run_queued,
    signed,
    stored,
)
from tests.framework.gateway import fakes
from tests.framework.testing.test_helpers import CSV


def _territory(url: str) -> str:
    return fakes.territory_toml(url)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in fakes.SECRETS.items():
        monkeypatch.setenv(name, value)


def test_callers_of_each_kind(raccord_client: ClientFactory) -> None:
    client = raccord_client(_territory("http://127.0.0.1:9"), plugins=(fakes,), entry_points=False)
    anonymous = client.get("/alpha/echo/private", caller=ANONYMOUS)
    assert anonymous.status == 401 and anonymous.err_class == "raccord.unauthorized"
    by_signature = client.get("/alpha/echo/private",
                              caller=signed("wcs.alpha.test", fakes.SECRETS["GW_ALPHA_WCS"], email="a@b.fr"))
    assert by_signature.status == 200, by_signature.json
    assert by_signature.data == {"client": "alpha.wcs", "user": {"email": "a@b.fr"}}
    by_key = client.get("/alpha/echo/private", caller=apikey(fakes.SECRETS["GW_ALPHA_KEY"]))
    assert by_key.status == 403 and by_key.err_class == "raccord.forbidden"  # portal lacks can_access
    by_basic = client.get("/alpha/", caller=basic("portal-alpha", fakes.SECRETS["GW_ALPHA_PASS"]))
    assert by_basic.status == 200 and by_basic.data["instance"] == "alpha"
    wrong = client.get("/alpha/", caller=basic("portal-alpha", "not-the-password"))
    assert wrong.status == 401


def test_body_schema_and_repeated_parameters(raccord_client: ClientFactory) -> None:
    client = raccord_client(_territory("http://127.0.0.1:9"), plugins=(fakes,), entry_points=False)
    ok = client.post("/alpha/echo/items", json={"name": "chaise", "qty": 2})
    assert ok.status == 200 and ok.data == {"stored": {"name": "chaise", "qty": 2}}
    refused = client.post("/alpha/echo/items", json={"name": "chaise", "qty": 0})
    assert refused.status == 400 and refused.err_class == "raccord.bad_request"
    assert "body.qty" in refused.json["err_desc"]
    pairs = client.get("/alpha/echo/doc/12", params=[("x", "1"), ("x", "2")])
    assert pairs.data == {"num": "12"}


def test_the_territory_calls_a_fake_server(raccord_territory: TerritoryFactory, fake_server: FakeServer) -> None:
    fake_server.add("GET", "/echo", json={"q": "rue"})
    raccord = raccord_territory(_territory(fake_server.url), plugins=(fakes,), entry_points=False)
    data = call(raccord, "alpha/echo/echo", q="rue", n=2)
    assert data["upstream"] == {"q": "rue"} and data["n"] == 2
    assert fake_server.received("GET", "/echo")[0].arg("q") == "rue"


@pytest.mark.postgres
def test_the_territory_on_postgresql(raccord_territory: TerritoryFactory) -> None:
    raccord = raccord_territory(_territory("http://127.0.0.1:9"), database="postgres",
                                plugins=(fakes,), entry_points=False)
    assert raccord.db.is_postgres
    raccord.bound("alpha", "echo").connector.store.put("things", [("k", "Un truc", {"v": 1})])
    assert stored(raccord, "alpha/echo", "things", q="truc") == [{"v": 1}]


def test_recorded_responses(raccord_territory: TerritoryFactory, raccord_responses: responses.RequestsMock) -> None:
    raccord_responses.get("https://ticketing.example/echo", json={"q": "x"})
    raccord = raccord_territory(_territory("https://ticketing.example"), plugins=(fakes,), entry_points=False)
    assert call(raccord, "beta/echo/echo", q="x")["upstream"] == {"q": "x"}
    assert raccord_responses.calls[0].request.url == "https://ticketing.example/echo?q=x"


def test_the_live_gateway_serves_installed_connectors(raccord_live: LiveFactory) -> None:
    live = raccord_live(CSV, files={"communes.csv": "insee,name\n57463,Metz\n57672,Woippy\n"})
    answer = live.get("/metz/communes/data", params={"q": "woi"})
    assert answer.status_code == 200, live.log_text()[-2000:]
    assert answer.json()["data"] == [{"id": "57672", "text": "Woippy", "insee": "57672", "name": "Woippy"}]


def test_run_job_and_read_what_it_stored(raccord_territory: TerritoryFactory, fake_server: FakeServer) -> None:
    from tests.framework.testing import jobby

    fake_server.add("GET", "/categories", json=[{"code": "v", "label": "Voirie"},
                                                {"code": "e", "label": "Éclairage public"}])
    raccord = raccord_territory(f'[profiles.k]\nconnector = "kit_jobby"\n[instances.metz]\nprofiles = ["k"]\n'
                                f'[instances.metz.settings.k]\nurl = "{fake_server.url}"\n',
                                plugins=(jobby,), entry_points=False)
    assert run_job(raccord, "metz/k/sync") == 2
    assert [c["label"] for c in stored(raccord, "metz/k", "categories")] == ["Éclairage public", "Voirie"]
    assert stored(raccord, "metz/k", "categories", q="eclairage") == [{"code": "e", "label": "Éclairage public"}]


def test_run_queued_delivers_what_an_endpoint_queued(raccord_territory: TerritoryFactory,
                                                      fake_server: FakeServer) -> None:
    from tests.framework.testing import jobby

    fake_server.add("GET", "/categories", json=[{"code": "v", "label": "Voirie"}])
    raccord = raccord_territory(f'[profiles.k]\nconnector = "kit_jobby"\n[instances.metz]\nprofiles = ["k"]\n'
                                f'[instances.metz.settings.k]\nurl = "{fake_server.url}"\n',
                                plugins=(jobby,), entry_points=False)
    queue = raccord.bound("metz", "k").connector.ctx.queue
    assert queue is not None
    job_id = queue.enqueue("sync", idempotency_key="once")
    assert queue.enqueue("sync", idempotency_key="once") == job_id
    assert run_queued(raccord) == 1 and run_queued(raccord) == 0
    info = queue.get(job_id)
    assert info is not None and info.status == "done"
    assert len(fake_server.received("GET", "/categories")) == 1
