"""JSON bodies validated against an endpoint's declared schema (jsonschema)."""

from __future__ import annotations

import threading
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from framework.declarations import EndpointSpec
from framework.errors import BadRequest

# id(schema) → (schema, validator): holding the schema keeps its id from being reused.
_validators: dict[int, tuple[object, Draft202012Validator]] = {}
_lock = threading.Lock()


def _validator(spec: EndpointSpec) -> Draft202012Validator:
    # Building a validator checks and compiles the schema: once per spec, not per call.
    key = id(spec.body_schema)
    found = _validators.get(key)
    if found is None:
        with _lock:
            found = _validators.setdefault(
                key, (spec.body_schema, Draft202012Validator(dict(spec.body_schema or {}))))
    return found[1]


def validate_body(spec: EndpointSpec, body: Any) -> None:
    """Raise BadRequest naming the first failing field (``body.items[2].qty``)."""
    error = best_match(_validator(spec).iter_errors(body))
    if error is None:
        return
    where = "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    raise BadRequest(f"{where}: {error.message}", data={"field": where}, http_status=400)
