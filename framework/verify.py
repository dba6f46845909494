"""The one verifier of endpoint and job declarations.

Every endpoint and job goes through it, whether a shipped connector declares it
(:class:`~framework.registry.ConnectorRegister` refuses the class) or an override
adds or replaces it (``raccord check`` reports it at the override's ``plugin`` line):
what the framework later documents, converts and validates at call time is checked
here first, so a declaration cannot pass ``check`` and fail at its first call.

The schema verifications need jsonschema, whose import and metaschema cost more than
the rest of a small ``check``: their messages are remembered (:mod:`framework.memo`),
and jsonschema is imported only when one is not.
"""

from __future__ import annotations

import re
from typing import Any

from framework import memo
from framework.declarations import EndpointSpec, JobSpec, Param
from framework.errors import BadRequest

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def endpoint_problems(spec: EndpointSpec) -> list[str]:
    """Everything wrong with one endpoint's declaration, each naming the field."""
    return [f"endpoint {spec.name!r}: {p}" for p in _endpoint(spec)]


def _endpoint(spec: EndpointSpec) -> list[str]:
    from framework.gateway.routes import PROFILE_LEVEL  # imports nothing

    problems = []
    if not spec.description.strip():
        problems.append("needs a description (or a docstring)")
    if spec.name in PROFILE_LEVEL:
        problems.append(f"is named after a path the gateway serves itself (/<instance>/<profile>/{spec.name}/…); "
                        "rename it")
    bad = [m for m in spec.methods if m not in HTTP_METHODS]
    if bad or not spec.methods:
        problems.append(f"unknown HTTP method(s) {bad}; use {', '.join(HTTP_METHODS)}")
    problems += _permission(spec)
    if spec.pattern is not None:
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            problems.append(f"pattern {spec.pattern!r} does not compile: {exc}")
    for param in spec.params:
        problems += _param(param)
    problems += _body(spec)
    if spec.cache_seconds < 0:
        problems.append(f"cache_seconds must not be negative, not {spec.cache_seconds}")
    return problems


def _permission(spec: EndpointSpec) -> list[str]:
    from framework.access import declaration_problem  # the access rules live with access

    problem = declaration_problem(spec)
    # Its messages name the endpoint already.
    return [problem.removeprefix(f"endpoint {spec.name!r} ").removeprefix(": ")] if problem else []


def _param(param: Param) -> list[str]:
    from framework.params import convert  # params imports declarations: no cycle at load

    where = f"parameter {param.name!r}"
    problems = []
    if param.min is not None and param.max is not None and param.min > param.max:
        problems.append(f"{where}: min {param.min} is above max {param.max}")
    for label, value in (("example", param.example), ("default", param.default)):
        if value is None:
            continue
        try:
            convert(param, value)
        except BadRequest as exc:
            problems.append(f"{where}: its {label} {value!r} is refused: {exc.message}")
    return problems


def _body(spec: EndpointSpec) -> list[str]:
    if spec.body_schema is None:
        return []
    schema = dict(spec.body_schema)
    problems = memo.remembered("jsonschema", "body_schema", schema, lambda: _schema_problems(schema),
                               source=__file__)
    if problems or spec.body_example is None:
        return problems
    example = spec.body_example
    if not _refs_local(schema):
        # A remote $ref is fetched while validating: not a pure function of the text.
        return _example_problems(schema, example)
    return memo.remembered("jsonschema", "body_example", [schema, example],
                           lambda: _example_problems(schema, example), source=__file__)


def _schema_problems(schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"body_schema is not a valid JSON schema: {exc.message}"]
    return []


def _example_problems(schema: dict[str, Any], example: Any) -> list[str]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(example))
    if error is None:
        return []
    where = "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return [f"body_example does not match body_schema: {where}: {error.message}"]


def _refs_local(value: Any) -> bool:
    """No ``$ref`` or ``$dynamicRef`` in ``value`` points outside the document."""
    if isinstance(value, dict):
        return all((k not in ("$ref", "$dynamicRef") or (isinstance(v, str) and v.startswith("#")))
                   and _refs_local(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_refs_local(v) for v in value)
    return True


def job_problems(spec: JobSpec) -> list[str]:
    from framework.runtime.schedule import parse_schedule

    problems = []
    if not spec.description.strip():
        problems.append("needs a description (or a docstring)")
    try:
        if spec.schedule is not None:  # None: run on demand or on an event only
            parse_schedule(spec.schedule)
    except ValueError as exc:
        problems.append(str(exc))
    return [f"job {spec.name!r}: {p}" for p in problems]


def declaration_problems(endpoints: dict[str, EndpointSpec] | Any, jobs: dict[str, JobSpec] | Any) -> list[str]:
    """All problems of a set of endpoints and jobs (a connector's, or an override's result)."""
    problems: list[str] = []
    for spec in endpoints.values():
        problems += endpoint_problems(spec)
    for job in jobs.values():
        problems += job_problems(job)
    return problems
