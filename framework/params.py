"""Converting raw query strings and JSON into an endpoint's declared parameter types.

Errors name the parameter, what was expected and what came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework.declarations import EndpointSpec, Param
from framework.errors import BadRequest

_TRUE = {"1", "true", "yes", "on", "oui"}
_FALSE = {"0", "false", "no", "off", "non", ""}


def convert_params(spec: EndpointSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Declared parameters, converted; undeclared ones are ignored (w.c.s. adds its own).

    An empty string is no value: w.c.s. sends ``lat=&limit=`` when a template renders
    empty, and means "not given" (the default, or "missing" when required)."""
    result: dict[str, Any] = {}
    for param in spec.params:
        if _given(raw.get(param.name)):
            result[param.name] = convert(param, raw[param.name])
        elif param.required:
            example = f" (e.g. {param.name}={param.example})" if param.example is not None else ""
            raise BadRequest(f"missing parameter {param.name!r}{example}", hint=param.description or None,
                             http_status=400)
        else:
            result[param.name] = param.default
    return result


def _given(value: Any) -> bool:
    if isinstance(value, list):
        return any(_given(v) for v in value)
    return value is not None and value != ""


def convert(param: Param, value: Any) -> Any:
    # A parameter error is the caller's, found before any connector code runs: it keeps
    # its 400 where connector errors are answered 200 + err 1 (Passerelle's WrongParameter).
    try:
        converted = _convert(param.type, value)
    except (TypeError, ValueError):
        raise BadRequest(
            f"parameter {param.name!r}: expected {_article(param.type_name)}, got {str(value)[:60]!r}",
            hint=param.description or None, http_status=400,
        ) from None
    if param.choices is not None and converted not in param.choices:
        raise BadRequest(f"parameter {param.name!r}: {converted!r} is not one of "
                         + ", ".join(repr(c) for c in param.choices), http_status=400)
    return converted


def _convert(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        result = float(value)
        if result != result or result in (float("inf"), float("-inf")):
            raise ValueError(value)
        return result
    if kind is str:
        if isinstance(value, dict | list):
            raise TypeError(value)
        return str(value)
    if kind is list:
        # Repeated keys (id=1&id=2, as w.c.s. sends a list) arrive as a list, kept as
        # given; one value is split on commas (id=1,2). Empty values are dropped.
        if isinstance(value, list):
            return [v for v in value if v is not None and v != ""]
        return [v for v in str(value).split(",") if v]
    if not isinstance(value, kind):
        raise TypeError(value)
    return value


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"
