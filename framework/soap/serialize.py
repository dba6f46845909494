"""zeep values → plain JSON: dicts, lists, strings, numbers, booleans, null."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree


def to_json(value: Any) -> Any:
    """Serialise what a zeep operation returned (CompoundValue, lists, scalars)."""
    from zeep.helpers import serialize_object

    return _plain(serialize_object(value, target_cls=dict))  # type: ignore[no-untyped-call]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Decimal):
        if not value.is_finite():  # zeep reads "INF"/"NaN": neither is JSON (as for floats)
            return None
        # Amounts stay exact when whole; a fractional decimal becomes a JSON number.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, etree._Element):
        return element_to_json(value)
    if hasattr(value, "value") and hasattr(value, "xsd_obj"):  # zeep AnyObject
        return _plain(value.value)
    return str(value)


def element_to_json(element: Any) -> Any:
    """An lxml element (a fault detail, an xsd:any) as nested dicts of local names."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return (element.text or "").strip() or None
    result: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = element_to_json(child)
        if name in result:  # repeated element → list
            existing = result[name]
            result[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[name] = value
    return result
