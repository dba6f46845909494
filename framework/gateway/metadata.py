"""What the gateway says about itself: instance and profile indexes, OpenAPI 3.1,
liveness and readiness. Everything here comes from the declarations and the
configuration; no connector code runs except to build a binding (overrides may add
or replace endpoints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework.access import Access, effective_access
from framework.app import Raccord
from framework.config.model import Instance, OverrideDecl
from framework.declarations import EndpointSpec, Param
from framework.errors import NotFound, RaccordError

_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "list": "array", "table": "object"}


def endpoints_of(raccord: Raccord, instance: str, profile: str) -> Mapping[str, EndpointSpec]:
    """The endpoints a binding serves (with its override), or the connector's if it
    cannot be built right now (a missing secret must not hide the documentation)."""
    try:
        return raccord.bound(instance, profile).endpoints
    except RaccordError:
        return raccord.binding(instance, profile).connector.endpoints


def access_of(raccord: Raccord, instance: str, profile: str) -> dict[str, Access]:
    """Endpoint → its effective access on the binding (what the call path enforces)."""
    binding = raccord.binding(instance, profile)
    return {name: effective_access(binding, spec)
            for name, spec in sorted(endpoints_of(raccord, instance, profile).items())}


def access_doc(access: Access) -> dict[str, Any]:
    return {"permission": access.permission, "open": access.open,
            "clients": sorted(access.clients) if access.clients is not None else None,
            "open_reason": access.open_reason if access.open else None, "set_by": access.source}


def instance_index(raccord: Raccord, name: str) -> dict[str, Any]:
    inst = _instance(raccord, name)
    profiles = {}
    open_to_anyone = []
    for profile in inst.profiles:
        binding = raccord.binding(name, profile)
        access = access_of(raccord, name, profile)
        open_to_anyone += [f"{profile}/{e}" for e, a in access.items() if a.open]
        profiles[profile] = {
            "connector": binding.connector.id,
            "description": binding.profile.description or binding.connector.title,
            "url": f"/{name}/{profile}/",
            "endpoints": sorted(access),
            "access": {e: access_doc(a) for e, a in access.items()},
        }
    return {
        "open_to_anyone": open_to_anyone,
        "instance": name,
        "title": inst.title,
        "kind": inst.kind,
        "identity": dict(inst.identity),
        "profiles": profiles,
        "overrides": [override_info(o) for o in inst.overrides.values()],
        "openapi": f"/{name}/openapi.json",
    }


def override_info(decl: OverrideDecl) -> dict[str, Any]:
    return {
        "id": decl.id,
        "reason": decl.reason,
        "owner": decl.owner,
        "review_by": decl.review_by.isoformat() if decl.review_by else None,
        "plugin": decl.plugin,
        "settings": list(decl.settings),
        "access": list(decl.access),
    }


def profile_doc(raccord: Raccord, instance: str, profile: str) -> dict[str, Any]:
    binding = raccord.binding(instance, profile)
    access = access_of(raccord, instance, profile)
    docs = {name: endpoint_doc(instance, profile, spec, access[name])
            for name, spec in sorted(endpoints_of(raccord, instance, profile).items())}
    return {
        "instance": instance,
        "profile": profile,
        "connector": binding.connector.id,
        "title": binding.connector.title,
        "description": binding.profile.description or binding.connector.description,
        "override": override_info(binding.override) if binding.override else None,
        "endpoints": docs,
    }


def endpoint_doc(instance: str, profile: str, spec: EndpointSpec, access: Access) -> dict[str, Any]:
    base = f"/{instance}/{profile}/{spec.name}"
    example = spec.example_query()
    query = "&".join(f"{k}={v}" for k, v in example.items())
    return {
        "url": base,
        "methods": list(spec.methods),
        "description": spec.description,
        "permission": access.permission,
        "access": access_doc(access),
        "pattern": spec.pattern,
        "datasource": spec.datasource,
        "override": spec.override,
        "parameters": [_param_doc(p) for p in spec.params],
        "body_schema": spec.body_schema,
        "example": f"{base}?{query}" if query else base,
        "body_example": spec.body_example,
    }


def _param_doc(p: Param) -> dict[str, Any]:
    return {"name": p.name, "type": p.type_name, "required": p.required, "description": p.description,
            "example": p.example, "default": p.default,
            "choices": list(p.choices) if p.choices is not None else None}


def _instance(raccord: Raccord, name: str) -> Instance:
    inst = raccord.territory.instances.get(name)
    if inst is None:
        raise NotFound(f"unknown instance {name!r}")
    return inst


# -- OpenAPI 3.1 -------------------------------------------------------------------------

_ENVELOPE_OK = {"type": "object", "required": ["err", "data"],
                "properties": {"err": {"const": 0}, "data": {}}}
_ENVELOPE_ERR = {"type": "object", "required": ["err", "err_class", "err_desc"],
                 "properties": {"err": {"const": 1}, "err_class": {"type": "string"},
                                "err_desc": {"type": "string"}, "data": {}}}
_ERRORS = {"400": "bad parameter or body", "401": "no or invalid credentials",
           "403": "refused", "404": "unknown instance, profile, endpoint or object",
           "405": "method not allowed", "413": "body too large",
           "502": "business server error", "503": "binding unavailable",
           "504": "business server timeout"}


def openapi(raccord: Raccord, name: str) -> dict[str, Any]:
    inst = _instance(raccord, name)
    public = raccord.territory.gateway.public_url.rstrip("/")
    paths: dict[str, Any] = {}
    open_to_anyone = []
    for profile in inst.profiles:
        access = access_of(raccord, name, profile)
        open_to_anyone += [f"{profile}/{e}" for e, a in access.items() if a.open]
        for spec in endpoints_of(raccord, name, profile).values():
            ops = {m.lower(): _operation(profile, spec, m, access[spec.name]) for m in spec.methods}
            paths[f"/{profile}/{spec.name}"] = ops
            if spec.pattern is not None:
                paths[f"/{profile}/{spec.name}/{{path}}"] = {
                    m: {**op, "operationId": f"{op['operationId']}_path",
                        "parameters": [*op["parameters"], _path_param(spec)]}
                    for m, op in ops.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"raccord — {inst.title}", "version": "1",
                 "description": f"Endpoints of instance {name!r} of {raccord.territory.name}. "
                                f"Open to anyone: {', '.join(open_to_anyone) or 'none'}; every other "
                                "endpoint needs a client of this instance (or one it grants)."},
        "x-raccord-open-to-anyone": open_to_anyone,
        "servers": [{"url": f"{public}/{name}"}],
        "paths": paths,
        "components": {
            "schemas": {"Success": _ENVELOPE_OK, "Error": _ENVELOPE_ERR},
            "responses": {code: {"description": desc, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}} for code, desc in _ERRORS.items()},
            "securitySchemes": {
                "publikSignature": {"type": "apiKey", "in": "query", "name": "signature",
                                    "description": "Publik signed URL: orig, algo, timestamp, nonce "
                                                   "then signature, last (see docs/gateway.md)"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def _operation(profile: str, spec: EndpointSpec, method: str, access: Access) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{profile}.{spec.name}.{method.lower()}",
        "summary": spec.description.splitlines()[0] if spec.description else spec.name,
        "description": spec.description,
        "tags": [profile],
        "parameters": [_query_param(p) for p in spec.params],
        "responses": {
            "200": _success(spec),
            **{code: {"$ref": f"#/components/responses/{code}"} for code in _ERRORS},
        },
        "x-raccord-permission": access.permission,
        "x-raccord-open": access.open,
    }
    schemes: list[dict[str, list[str]]] = [{"publikSignature": []}, {"apiKey": []}, {"basic": []}]
    if access.open:
        # Anyone; credentials are optional (and must be valid when given).
        op["security"] = [{}, *schemes]
        if access.open_reason:
            op["x-raccord-open-reason"] = access.open_reason
    else:
        op["security"] = schemes
    if access.clients is not None:
        op["x-raccord-clients"] = sorted(access.clients)
    if spec.override:
        op["x-raccord-override"] = spec.override
    if method in ("POST", "PUT", "PATCH"):
        schema = dict(spec.body_schema) if spec.body_schema else {}
        content: dict[str, Any] = {"schema": schema}
        if spec.body_example is not None:
            content["example"] = spec.body_example
        op["requestBody"] = {"required": spec.body_schema is not None,
                             "content": {"application/json": content}}
    return op


def _success(spec: EndpointSpec) -> dict[str, Any]:
    envelope = {"$ref": "#/components/schemas/Success"}
    if spec.unwrapped_schema is None:
        return {"description": "success", "content": {"application/json": {"schema": envelope}}}
    # Both shapes: the envelope, or the bare answer the caller asked for (format=json).
    return {"description": "success: the envelope, or the unwrapped answer (see its description)",
            "content": {"application/json": {"schema": {"oneOf": [envelope, dict(spec.unwrapped_schema)]}}}}


def _query_param(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES.get(p.type_name, "string")}
    if schema["type"] == "array":
        schema["items"] = {"type": "string"}
    if p.choices is not None:
        schema["enum"] = list(p.choices)
    if p.default is not None:
        schema["default"] = p.default
    out: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required, "schema": schema}
    if p.description:
        out["description"] = p.description
    if p.example is not None:
        out["example"] = p.example
    if schema["type"] == "array":
        out["style"], out["explode"] = "form", False
    return out


def _path_param(spec: EndpointSpec) -> dict[str, Any]:
    return {"name": "path", "in": "path", "required": True,
            "description": f"the rest of the path, matching {spec.pattern}",
            "schema": {"type": "string"}}


# -- health ----------------------------------------------------------------------------

def readiness(raccord: Raccord) -> tuple[bool, dict[str, Any]]:
    """Database reachable, writable and the same file; configuration loaded; the
    background roles alive (see :mod:`framework.gateway.readiness`)."""
    from framework.gateway.readiness import readiness as check

    return check(raccord)
