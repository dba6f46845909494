"""What an operation takes and returns, as JSON a person (or w.c.s.) can read.

Scalars are their XSD type name (``"string"``, ``"int"``), suffixed with ``?`` when
optional; repeated elements are a one-item list; complex types are objects.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 8  # recursive schemas (a node containing nodes) stop here


def operation_signature(binding: Any, name: str) -> dict[str, Any]:
    operation = binding._operations[name]
    return {
        "name": name,
        "documentation": (getattr(operation.abstract, "documentation", None) or "").strip() or None,
        "input": _message(operation.input),
        "output": _message(operation.output),
        "signature": f"{name}({operation.input.signature()}) -> {operation.output.signature(as_output=True)}",
    }


def _message(message: Any) -> Any:
    body = getattr(message, "body", None)
    if body is None:
        return None
    return _type(body.type, 0)


def _type(xsd_type: Any, depth: int) -> Any:
    elements = getattr(xsd_type, "elements", None)
    if elements is None or not hasattr(xsd_type, "attributes"):
        qname = getattr(xsd_type, "qname", None)
        return qname.localname if qname is not None else type(xsd_type).__name__.lower()
    if depth >= MAX_DEPTH:
        return "…"
    return {name: _element(element, depth + 1) for name, element in elements}


def _element(element: Any, depth: int) -> Any:
    described = _type(element.type, depth)
    if element.max_occurs != 1:
        return [described]
    if getattr(element, "min_occurs", 1) == 0 and isinstance(described, str):
        return described + "?"
    return described
