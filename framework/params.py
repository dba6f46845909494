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
    """Declared parameters, converted; undeclared ones are ignored (w.c.s. adds its own)."""
    result: dict[str, Any] = {}
    for param in spec.params:
        if param.name in raw and raw[param.name] is not None:
            result[param.name] = convert(param, raw[param.name])
        elif param.required:
            example = f" (e.g. {param.name}={param.example})" if param.example is not None else ""
            raise BadRequest(f"missing parameter {param.name!r}{example}", hint=param.description or None)
        else:
            result[param.name] = param.default
    return result


def convert(param: Param, value: Any) -> Any:
    try:
        converted = _convert(param.type, value)
    except (TypeError, ValueError):
        raise BadRequest(
            f"parameter {param.name!r}: expected {_article(param.type_name)}, got {str(value)[:60]!r}",
            hint=param.description or None,
        ) from None
    low, high = param.bounds
    if isinstance(converted, int | float) and not isinstance(converted, bool) and (
            (low is not None and converted < low) or (high is not None and converted > high)):
        raise BadRequest(f"parameter {param.name!r}: {converted} is out of range",
                         hint=f"give {_range(low, high)}")
    if param.choices is not None and converted not in param.choices:
        raise BadRequest(f"parameter {param.name!r}: {converted!r} is not one of "
                         + ", ".join(repr(c) for c in param.choices))
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
        return value if isinstance(value, list) else [v for v in str(value).split(",") if v]
    if not isinstance(value, kind):
        raise TypeError(value)
    return value


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}" if max(abs(low), abs(high)) < 1e15 else f"{int(low)} to {int(high)}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"
