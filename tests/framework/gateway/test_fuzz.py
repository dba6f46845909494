"""Fuzz every endpoint of the example territory (instances.toml at the repo root)
through the gateway in process: whatever comes in, no 500 and always a JSON envelope.

No network: outbound calls go through `responses`, which refuses them (a 502 then)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from werkzeug.test import Client

from framework.gateway.app import Gateway, make_app
from tests.conftest import ROOT

EXAMPLE = ROOT / "instances.toml"


class Example(tuple):  # type: ignore[type-arg]
    """(gateway, targets) with a short repr: Hypothesis prints it on failure."""

    def __repr__(self) -> str:
        return "<example territory gateway>"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, list[tuple[str, str, Any]]]]:
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    gw = make_app(EXAMPLE, database_url=f"sqlite:///{db}")
    targets = [(i, p, spec) for (i, p) in gw.territory.bindings
               for spec in gw.raccord.bound(i, p).endpoints.values()]
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        yield Example((gw, targets))
    gw.close()


CONNECTOR_LEVEL = {"raccord.bad_request", "raccord.upstream_error", "raccord.soap_fault",
                   "raccord.unavailable", "raccord.upstream_timeout", "raccord.config_error"}


def assert_envelope(resp: Any) -> None:
    assert resp.status_code != 500, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == "application/json", resp.headers
    payload = json.loads(resp.get_data())
    assert payload["err"] in (0, 1) and "data" in payload
    if payload["err"]:
        assert isinstance(payload["err_class"], str) and isinstance(payload["err_desc"], str)
        # Passerelle mode (the default): connector-level errors are 200 + err 1.
        assert resp.status_code >= 400 or payload["err_class"] in CONNECTOR_LEVEL, payload
    else:
        assert resp.status_code in (200, 202)


values = st.one_of(st.text(max_size=30), st.integers().map(str), st.sampled_from(["", "0", "-1", "1e9",
                   "nan", "true", "57463", "%", "\x00", "é", "a,b"]))
junk_auth = st.one_of(
    st.just({}),
    st.builds(lambda k: {"X-API-Key": k}, st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()
                                                                                 and s.isascii())),
    st.builds(lambda t: {"Authorization": f"Basic {t}"}, st.text(alphabet="abcXYZ=+/:", max_size=20)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_endpoint_answers_an_envelope(example: tuple[Gateway, list[Any]], data: st.DataObject) -> None:
    gw, targets = example
    instance, profile, spec = data.draw(st.sampled_from(targets), label="target")
    names = [p.name for p in spec.params] + ["orig", "signature", "algo", "x"]
    params = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=5), label="params")
    query = urllib.parse.urlencode(params)
    if data.draw(st.booleans(), label="raw query junk"):
        query += "&" + data.draw(st.text(alphabet="&=%:+/;?ab12", max_size=20))
    method = data.draw(st.sampled_from([*spec.methods, "GET", "POST", "PUT", "DELETE", "PATCH"]))
    suffix = data.draw(st.sampled_from(["", "/", "/x", "/57463", "/%C3%A9/..", "/a/b/c"]), label="suffix")
    body = data.draw(st.one_of(st.none(), st.binary(max_size=64),
                               st.recursive(st.none() | st.integers() | st.text(max_size=10),
                                            lambda c: st.lists(c, max_size=3)
                                            | st.dictionaries(st.text(max_size=5), c, max_size=3),
                                            max_leaves=8).map(lambda v: json.dumps(v).encode())),
                     label="body")
    headers = data.draw(junk_auth, label="auth")
    resp = Client(gw).open(f"/{instance}/{profile}/{spec.name}{suffix}?{query}", method=method,
                           data=body, headers={**headers, "Content-Type": "application/json"})
    assert_envelope(resp)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.text(alphabet="abc-_.%/é0", max_size=8), max_size=5).map("/".join),
       method=st.sampled_from(["GET", "POST", "OPTIONS", "HEAD", "PUT"]))
def test_any_path_answers_an_envelope(example: tuple[Gateway, list[Any]], path: str, method: str) -> None:
    gw, _ = example
    # A leading "//" would be read as a host name by the test client, not the gateway.
    resp = Client(gw).open("/" + path.lstrip("/"), method=method)
    if path.strip("/") == "metrics":
        return
    assert_envelope(resp)


def test_metadata_of_every_instance(example: tuple[Gateway, list[Any]]) -> None:
    gw, _ = example
    client = Client(gw)
    for name, inst in gw.territory.instances.items():
        assert_envelope(client.get(f"/{name}/"))
        for profile in inst.profiles:
            assert_envelope(client.get(f"/{name}/{profile}/"))
        resp = client.get(f"/{name}/openapi.json")
        assert resp.status_code == 200
        validate(resp.get_json())
