"""Every operation of every instance's OpenAPI document of the example territory, fuzzed
with Hypothesis (tests/adversarial/openapi_fuzz.py) through a running ``raccord serve``
(2 gunicorn workers and the background process) whose business servers are local: no
500, and every answer JSON. Non-open operations are called signed by a client allowed
to call them, so the fuzzed input reaches the connector.

The in-process fuzz (tests/framework/gateway/test_fuzz.py) covers the gateway's own
routing quickly; this one goes through gunicorn, the real database writes and the
documents' schemas; the local business server checks that no input moved a request
out of its API (path traversal). ``RACCORD_FUZZ_CASES`` sets the budget (bench/fuzz_openapi.py runs more)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.openapi_fuzz import Operation, Tally, cases, operations
from tests.adversarial.serving import Served, example_env, local_example
from tests.adversarial.upstream import Upstream
from tests.framework.gateway import example as ex
from tests.framework.gateway.fakes import serve_wsgi

pytestmark = pytest.mark.xdist_group("openapi-fuzz")
CASES = int(os.environ.get("RACCORD_FUZZ_CASES", "800"))


class Fuzzed:
    def __init__(self, served: Served, ops: list[Operation], upstream: Upstream) -> None:
        self.served, self.ops, self.upstream, self.tally = served, ops, upstream, Tally()

    def __repr__(self) -> str:  # Hypothesis prints its arguments on failure
        return f"<raccord serve on the example, {len(self.ops)} operations>"


def documented(served: Served) -> list[Operation]:
    ops = []
    for instance in ex.INSTANCES:
        response = served.get(f"/{instance}/openapi.json")
        assert response.status_code == 200, response.text
        ops += operations(response.json(), instance)
    return ops


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    folder: Path = tmp_path_factory.mktemp("openapi-fuzz")
    upstream = Upstream()
    with serve_wsgi(upstream) as url:
        served = Served(local_example(folder, url), example_env(folder), workdir=folder, workers=2)
        try:
            yield Fuzzed(served, documented(served), upstream)
        finally:
            served.stop()
            text = served.text()
            assert "Traceback" not in text, text[-3000:]


def test_the_documents_cover_every_endpoint_and_the_callers_reach_them(fuzzed: Fuzzed) -> None:
    ops = fuzzed.ops
    assert {o.instance for o in ops} == set(ex.INSTANCES)
    assert len(ops) > 200
    # Every non-open operation has a client that may call it (else the fuzz would only
    # ever reach the access check).
    assert [o for o in ops if not o.open and not o.callers()] == []


@settings(max_examples=CASES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_no_500_and_always_json(fuzzed: Fuzzed, data: st.DataObject) -> None:
    case = data.draw(cases(fuzzed.ops), label="case")
    fuzzed.tally.check(fuzzed.served.session, fuzzed.served.url, case)


def test_report(fuzzed: Fuzzed) -> None:
    tally = fuzzed.tally
    print(f"\nOpenAPI fuzz: {tally.cases} cases over {len(fuzzed.ops)} operations of {len(ex.INSTANCES)} "
          f"instances; statuses {dict(sorted(tally.statuses.items()))}; 500s and non-JSON answers: {len(tally.bad)}")
    assert tally.bad == []
    # What callers typed never moved a request out of the business server's API (a
    # service_code of "../../x" once did).
    escaped = [s.raw_path for s in fuzzed.upstream.seen
               if ".." in s.raw_path.split("/") or not s.raw_path.startswith(("/ban/", "/open311/v2/"))]
    assert escaped == []
    if tally.cases:  # run after the fuzz (file order): it reached connectors, not only the access check
        assert tally.statuses[200] > 0 and sum(n for s, n in tally.statuses.items() if s == 400) > 0
