"""Check JSON arguments against an operation's XSD simple types before sending.

zeep renders a value with ``str()`` without checking it (``intA="abc"`` would go out
as ``<intA>abc</intA>``): the caller deserves a 400 naming the field instead of the
server's fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework.errors import BadRequest

MAX_DEPTH = 8


def check_arguments(binding: Any, operation: str, arguments: Mapping[str, Any]) -> None:
    body = getattr(binding._operations[operation].input, "body", None)
    if body is not None:
        _check(body.type, arguments, operation, 0)


def _check(xsd_type: Any, value: Any, path: str, depth: int) -> None:
    if value is None or depth > MAX_DEPTH:
        return
    elements = getattr(xsd_type, "elements", None)
    if elements is None or not hasattr(xsd_type, "attributes"):
        _check_simple(xsd_type, value, path)
        return
    if not isinstance(value, Mapping):
        raise BadRequest(f"{path}: expected an object of {', '.join(n for n, _ in elements) or 'nothing'}")
    for name, element in elements:
        if name in value:
            items = value[name] if isinstance(value[name], list) and element.max_occurs != 1 else [value[name]]
            for item in items:
                _check(element.type, item, f"{path}.{name}", depth + 1)


def _check_simple(xsd_type: Any, value: Any, path: str) -> None:
    convert = getattr(xsd_type, "pythonvalue", None)
    if convert is None or isinstance(value, Mapping | list):
        if isinstance(value, Mapping | list) and convert is not None:
            raise BadRequest(f"{path}: expected a single {_name(xsd_type)} value, got {type(value).__name__}")
        return
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    try:
        convert(text)
    except Exception:  # zeep's converters raise ValueError, InvalidOperation, isodate errors…
        raise BadRequest(f"{path}: {value!r} is not a valid {_name(xsd_type)}") from None


def _name(xsd_type: Any) -> str:
    qname = getattr(xsd_type, "qname", None)
    return f"xsd:{qname.localname}" if qname is not None else "value"
