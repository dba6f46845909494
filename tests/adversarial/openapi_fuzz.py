"""Hypothesis strategies generated from an instance's OpenAPI document (what the gateway
serves at ``/<instance>/openapi.json``): for each operation, its parameters and JSON body
drawn from their schemas — and, as often, out of them: out-of-range and huge numbers,
huge strings, wrong types, required parameters left out, unknown ones added, bodies that
break the schema or are not JSON at all. Non-open operations are called signed (or with
the API key) by a client of the example territory that may call them, so that the
request reaches the connector; open ones anonymously as well.

Used by tests/adversarial/test_openapi_fuzz.py (a bounded CI budget) and
bench/fuzz_openapi.py (a longer run recorded in docs/benchmarks/fuzz.md).
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import strategies as st

from tests.framework.gateway import example as ex

HUGE = 20_000  # characters: past the gateway's body limit in a body, past gunicorn's line limit in a query


@dataclass(frozen=True)
class Operation:
    instance: str
    path: str  # the OpenAPI path, e.g. /demandes/inbox/{path}
    method: str
    params: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None  # the JSON schema of the request body
    open: bool

    @property
    def profile_endpoint(self) -> tuple[str, str]:
        profile, endpoint = self.path.strip("/").split("/")[:2]
        return profile, endpoint

    def callers(self) -> list[str]:
        """Clients of the example that may call this operation."""
        profile, endpoint = self.profile_endpoint
        return [c for c in ex.BY_ID if ex.may_call(c, self.instance, profile, endpoint)]

    def __repr__(self) -> str:
        return f"{self.method} /{self.instance}{self.path}"


def operations(doc: dict[str, Any], instance: str) -> list[Operation]:
    found = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            found.append(Operation(instance, path, method.upper(), tuple(op.get("parameters", ())),
                                   content.get("schema"), bool(op.get("x-raccord-open"))))
    return found


# -- values from a schema, and beside it ----------------------------------------------

_JUNK_TEXT = st.sampled_from(["", " ", "\x00", "%", "%00", "é", "💥", "a,b", "../..", "<script>", "' OR 1=1 --",
                              "nan", "inf", "-1", "1e308", "true", "null", "[]", "{}", "0x10", "57463"])
_INTS = st.one_of(st.integers(-5, 100), st.sampled_from([-1, 0, 2**31, 2**63, -(2**63) - 1, 10**30]),
                  st.integers())


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=max_size), _JUNK_TEXT,
                     st.integers(HUGE // 4, HUGE).map(lambda n: "x" * n))


def value_of(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """A value of ``schema`` (roughly: enough for a connector to get past the first check)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([value_of({**schema, "type": k}, depth) for k in kind])
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.integers(low, high) if low is not None or high is not None else st.integers(-5, 1000)
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(value_of(schema.get("items", {}), depth + 1), max_size=4)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = [p for p in schema.get("required", ()) if p in props]
        if depth > 2 or not props:
            return st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)
        return st.fixed_dictionaries({p: value_of(props[p], depth + 1) for p in required},
                                     optional={p: value_of(s, depth + 1) for p, s in props.items()
                                               if p not in required})
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30))
    return st.one_of(st.none(), st.text(max_size=10), st.integers())


def wrong_value() -> st.SearchStrategy[Any]:
    """Any JSON value, of any type (nested, huge, out of range)."""
    scalars = st.one_of(st.none(), st.booleans(), _INTS, st.floats(allow_nan=False, allow_infinity=False),
                        hostile_text())
    return st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                       max_size=3), max_leaves=6)


def body_of(schema: dict[str, Any] | None) -> st.SearchStrategy[bytes | None]:
    valid = value_of(schema) if schema else st.just({})
    mutated = valid.flatmap(lambda v: _mutate(v, schema or {}))
    junk = st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"1e999",
                                                               b"[" * 5000 + b"]" * 5000, b'{"a": NaN}']))
    return st.one_of(valid.map(_dumps), mutated.map(_dumps), junk, st.none())


def _mutate(value: Any, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if not isinstance(value, dict):
        return wrong_value()
    props = list(schema.get("properties", {})) or ["x"]
    return st.one_of(
        # a property of the wrong type, out of range or huge
        st.tuples(st.sampled_from(props), wrong_value()).map(lambda kv: {**value, kv[0]: kv[1]}),
        # a required one left out
        st.sampled_from(props).map(lambda k: {n: v for n, v in value.items() if n != k}),
        # an unknown one
        st.tuples(st.text(min_size=1, max_size=8), wrong_value()).map(lambda kv: {**value, kv[0]: kv[1]}),
        wrong_value(),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def param_value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """A query or path value as text: from its schema, or of a wrong type, out of range or huge."""
    kind = schema.get("type")
    if kind == "array":
        good = st.lists(value_of(schema.get("items", {})).map(str), max_size=4).map(",".join)
    else:
        good = value_of(schema).map(lambda v: json.dumps(v) if isinstance(v, bool) else str(v))
    wrong = st.one_of(_INTS.map(str), st.floats().map(str), hostile_text())
    return st.one_of(good, wrong)


@dataclass(frozen=True)
class Case:
    method: str
    url: str  # path and query
    body: bytes | None
    headers: dict[str, str]
    caller: str | None
    target: str  # the operation, e.g. "GET /metz{/adresse/search}"

    def __repr__(self) -> str:
        return f"{self.method} {self.url[:300]} as {self.caller} body={self.body[:200] if self.body else None!r}"


@st.composite
def cases(draw: st.DrawFn, ops: list[Operation]) -> Case:
    # The operation's kind first, then an instance serving it: the metropolis' few
    # operations (route, assign, triage) are drawn as often as the 48 instances' search.
    kinds: dict[str, list[Operation]] = {}
    for o in ops:
        kinds.setdefault(f"{o.method} {o.path}", []).append(o)
    op = draw(st.sampled_from(kinds[draw(st.sampled_from(sorted(kinds)))]))
    query: list[tuple[str, str]] = []
    path = op.path
    for param in op.params:
        name, where = param["name"], param.get("in", "query")
        if where == "path":
            raw = draw(st.one_of(st.integers(-2, 50).map(str), hostile_text(20)))
            path = path.replace("{" + name + "}", urllib.parse.quote(raw, safe="") or "x")
            continue
        # Required ones are left out one time in eight; optional ones drawn half the time.
        keep = draw(st.integers(0, 7)) > 0 if param.get("required") else draw(st.booleans())
        if keep:
            query.append((name, draw(param_value(param.get("schema", {})))))
    if draw(st.integers(0, 4)) == 0:
        query.append((draw(st.sampled_from(["x", "limit", "format", "orig", "callback", "q"])),
                      draw(hostile_text(20))))
    text = urllib.parse.urlencode(query)
    callers = op.callers()
    caller = draw(st.sampled_from(callers)) if callers and (not op.open or draw(st.booleans())) else None
    headers = {"Content-Type": "application/json"}
    if caller is not None:
        text, auth = ex.credentials(caller, text)
        headers.update(auth)
    method = op.method if draw(st.integers(0, 9)) else draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    body = draw(body_of(op.body)) if method in ("POST", "PUT") else None
    return Case(method, f"/{op.instance}{path}?{text}", body, headers, caller, f"{op.method} {op.path}")


@dataclass
class Tally:
    """What came back: statuses, and every answer that was a 500 or not JSON."""

    statuses: Counter[int] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)  # operation (all instances) → cases
    signed: int = 0
    bad: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    def check(self, session: requests.Session, base: str, case: Case) -> None:
        response = session.request(case.method, base + case.url, data=case.body, headers=case.headers, timeout=30)
        self.statuses[response.status_code] += 1
        self.targets[case.target] += 1
        self.signed += case.caller is not None
        problem = ""
        if response.status_code == 500:
            problem = "a 500"
        elif not response.headers.get("Content-Type", "").startswith("application/json"):
            problem = f"{response.headers.get('Content-Type')!r} instead of JSON"
        else:
            try:
                payload = json.loads(response.content)
            except ValueError:
                problem = "invalid JSON"
            else:  # Passerelle's mode answers an incident 200 + err 1: still a 500 in disguise
                if isinstance(payload, dict) and payload.get("err_class") == "raccord.incident":
                    problem = "an incident"
        if problem:
            self.bad.append(f"{problem}: {case!r} → {response.status_code} {response.text[:300]}")
        assert not problem, self.bad[-1]
