"""The GeoReport v2 wire protocol: URLs, JSON and XML answers, the spec's error arrays.

Real servers differ: some answer XML when asked JSON, some put an error array in a
200, some leave optional fields out or send ``lat`` as a string. Everything is read
here into one shape (:func:`request_fields`) so the connector never sees the variety.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from lxml import etree

from framework import BadRequest, NotFound, UpstreamError

#: XML elements whose children form a list (the spec's plural containers).
LIST_TAGS = {"services", "service_requests", "errors", "attributes", "values", "service_definitions"}
#: Every field of a service request in the spec; missing ones are ``None``.
REQUEST_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url", "token")


@functools.cache
def _parser() -> etree.XMLParser:
    # lxml is imported by the first XML answer, not by ``raccord check`` loading the connector.
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=True)


def resource_url(base: str, resource: str, fmt: str) -> str:
    """``https://…/v2/`` + ``requests/12`` + ``json`` → ``https://…/v2/requests/12.json``.

    A resource is a collection and at most one id, quoted whole: an id is a caller's
    text (``service_code`` of the open service_definition), and ``../../x`` must stay one
    segment, never climb out of the API on the server."""
    collection, slash, ident = resource.partition("/")
    path = quote(collection, safe="") + (slash + quote(ident, safe="") if slash else "")
    return f"{base.rstrip('/')}/{path}.{fmt}"


def decode(content: bytes, content_type: str, host: str) -> Any:
    """An answer's body as Python data, whichever format the server chose."""
    text = content.lstrip()
    if text[:1] == b"<" or "xml" in content_type:
        return _xml(content, host)
    import json

    try:
        return json.loads(content)
    except ValueError:
        raise UpstreamError(f"{host} answered {content_type or 'something'} that is neither JSON nor XML",
                            hint="check endpoint_url: it must be the GeoReport v2 root, e.g. "
                                 "https://…/open311/v2/") from None


def _xml(content: bytes, host: str) -> Any:
    from lxml import etree

    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError:
        raise UpstreamError(f"{host} answered malformed XML") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        # No DTD, no entities: a hostile or broken server cannot expand anything here.
        raise UpstreamError(f"{host} answered XML with a DOCTYPE, refused")
    return _node(root)


def _node(element: Any) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    tag = _localname(element.tag)
    if tag in LIST_TAGS:
        return [_node(c) for c in children]
    if not children:
        text = (element.text or "").strip()
        return text or None
    return {_localname(c.tag): _node(c) for c in children}


def _localname(tag: str) -> str:
    """``{namespace}name`` → ``name`` (what lxml's ``QName(element).localname`` gives)."""
    return tag.rpartition("}")[2]


def errors_in(data: Any) -> list[dict[str, Any]] | None:
    """The spec's error array (``[{code, description}]``), if ``data`` is one."""
    if isinstance(data, dict) and "errors" in data:
        data = data["errors"]
    if isinstance(data, list) and data and all(isinstance(e, dict) for e in data) and \
            all("description" in e and "code" in e for e in data) and \
            not any("service_request_id" in e or "token" in e or "service_code" in e for e in data):
        return [e for e in data if isinstance(e, dict)]
    return None


def raise_for(status: int, data: Any, host: str, what: str) -> None:
    """Map an error answer to raccord's errors: the caller's fault (4xx) or the server's."""
    errors = errors_in(data)
    if errors is None and status < 400:
        return
    text = "; ".join(f"{e.get('description')} (code {e.get('code')})" for e in errors or []) or f"HTTP {status}"
    codes = {str(e.get("code")) for e in errors or []} | {str(status)}
    if codes & {"401", "403"}:
        raise UpstreamError(f"{host} refused {what}: {text}",
                            hint="check the api_key and jurisdiction_id settings of this binding")
    if "404" in codes:
        raise NotFound(f"{host} does not know {what}: {text}")
    if codes & {"400", "422"}:
        raise BadRequest(f"{host} refused {what}: {text}")
    raise UpstreamError(f"{host} failed {what}: {text}")


def as_list(data: Any) -> list[Any]:
    """A list answer; some servers send one object bare, or wrap it."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("service_requests", "requests", "services", "request"):
            if key in data:
                return as_list(data[key])
        return [data]
    return []


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def request_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """One service request with every field of the spec (``None`` when absent)."""
    out = {name: item.get(name) for name in REQUEST_FIELDS}
    for name in ("service_request_id", "token"):
        if out[name] is not None:
            out[name] = str(out[name])
    out["lat"], out["long"] = _float(out["lat"]), _float(out["long"])
    if isinstance(out["status"], str):
        out["status"] = out["status"].strip().lower()
    return out


def service_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A service as a w.c.s. data-source item."""
    code = str(item.get("service_code") or item.get("code") or "")
    name = str(item.get("service_name") or item.get("name") or code)
    return {"id": code, "text": name, "service_code": code, "service_name": name,
            "description": item.get("description"), "group": item.get("group"),
            "keywords": item.get("keywords"), "type": item.get("type") or "realtime",
            "metadata": _bool(item.get("metadata"))}


def definition(data: Any) -> dict[str, Any]:
    """A service definition with its attributes, values as ``{id, text}`` too."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise UpstreamError("the service definition is not an object")
    attributes = []
    for attr in as_list(data.get("attributes") or []):
        if not isinstance(attr, dict):
            continue
        values = [{"id": str(v.get("key")), "text": str(v.get("name") or v.get("key")), **v}
                  for v in as_list(attr.get("values") or []) if isinstance(v, dict)]
        order = attr.get("order")
        attributes.append({**attr, "required": _bool(attr.get("required")), "variable": _bool(attr.get("variable")),
                           "order": int(str(order)) if str(order or "").isdigit() else order, "values": values})
    return {"service_code": data.get("service_code"), "attributes": attributes}


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or "the server")
