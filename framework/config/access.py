"""The ``access`` tables of instances.toml: parsed, then checked against the territory.

``[profiles.<p>.access.<endpoint>]`` is the common project's rule;
``[instances.<i>.access.<p>.<endpoint>]`` an instance's. Each takes ``permission``,
``clients`` and ``open_reason`` (docs/gateway.md, "Access"). Tightening is free; an
instance rule that admits a caller the common project refuses is an override and
needs the ``[instances.<i>.overrides.<p>]`` declaration, which then records it.

Permission names are checked both ways, so that a typo on either side is caught:
a client's permission must be declared by some connector's endpoint or required by
some access rule (else it protects nothing); a rule's permission must be declared by
some endpoint or held by some client (else nobody could ever call the endpoint).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from framework.access import OPEN, AccessRule, common_access, effective_access, loosened, open_problem
from framework.config import sections as S
from framework.config.model import Binding, Client, Instance, OverrideDecl, Profile
from framework.config.report import Report, did_you_mean
from framework.config.values import check_keys
from framework.declarations import ConnectorInfo
from framework.registry import ConnectorRegistry

_Path = tuple[str, ...]


# -- parsing -------------------------------------------------------------------------

def parse_profile_access(value: Any, report: Report, path: _Path, info: ConnectorInfo) -> dict[str, AccessRule]:
    """``[profiles.<p>.access.<endpoint>]``: rules on the connector's endpoints."""
    rules = _parse_rules(value, report, (*path, "access"))
    for name in list(rules):
        if name not in info.endpoints:
            _unknown_endpoint(report, (*path, "access", name), info, info.endpoints)
            del rules[name]
    return rules


def parse_instance_access(value: Any, report: Report, path: _Path, used: Iterable[str],
                          profiles: Mapping[str, Profile], registry: ConnectorRegistry,
                          overrides: Mapping[str, OverrideDecl]) -> dict[str, dict[str, AccessRule]]:
    """``[instances.<i>.access.<profile>.<endpoint>]``, for the profiles the instance binds.

    An endpoint the connector lacks may be one the instance's override code adds: that
    is checked once the code is applied (framework/checks/access.py)."""
    if not isinstance(value, dict):
        report.error((*path, "access"), "expected [instances.<name>.access.<profile>.<endpoint>] tables")
        return {}
    result: dict[str, dict[str, AccessRule]] = {}
    for profile, table in value.items():
        ppath = (*path, "access", profile)
        if profile not in used:
            report.error(ppath, f"access rules for profile {profile!r}, which this instance does not use",
                         hint=did_you_mean(profile, used) or "add it to the instance's profiles, or remove this table")
            continue
        info = registry[profiles[profile].connector]
        rules = _parse_rules(table, report, ppath)
        coded = profile in overrides and overrides[profile].plugin is not None
        for name in list(rules):
            if name not in info.endpoints and not coded:
                _unknown_endpoint(report, (*ppath, name), info, info.endpoints)
                del rules[name]
        result[profile] = rules
    return result


def _unknown_endpoint(report: Report, path: _Path, info: ConnectorInfo, known: Iterable[str]) -> None:
    report.error(path, f"{info.id} has no endpoint {path[-1]!r}",
                 hint=did_you_mean(path[-1], known) or f"its endpoints: {', '.join(sorted(known))}")


def _parse_rules(value: Any, report: Report, path: _Path) -> dict[str, AccessRule]:
    if not isinstance(value, dict):
        report.error(path, "expected a table of [<…>.access.<endpoint>] rules")
        return {}
    rules = {}
    for endpoint, body in value.items():
        epath = (*path, endpoint)
        if not isinstance(body, dict):
            report.error(epath, "an access rule is a table", hint='permission = "can_access" and/or clients = […]')
            continue
        check_keys(report, epath, body, S.ACCESS)
        rule = _parse_rule(body, report, epath)
        if rule is not None:
            rules[endpoint] = rule
    return rules


def _parse_rule(body: dict[str, Any], report: Report, epath: _Path) -> AccessRule | None:
    permission, clients, reason = body.get("permission"), body.get("clients"), body.get("open_reason")
    ok = True
    if permission is not None and not (isinstance(permission, str) and permission.strip()):
        report.error((*epath, "permission"), f"expected a permission name or \"open\", got {permission!r}",
                     hint='permission = "can_access"')
        ok = False
    if clients is not None and not (isinstance(clients, list) and all(isinstance(c, str) for c in clients)):
        report.error((*epath, "clients"), "expected a list of \"<instance>.<client>\" names",
                     hint='clients = ["metz.wcs"]')
        ok = False
    if reason is not None and not (isinstance(reason, str) and reason.strip()):
        report.error((*epath, "open_reason"), "expected a sentence saying why anyone may call it")
        ok = False
    if permission is None and clients is None and reason is None:
        report.error(epath, "the access rule changes nothing", hint='set permission = "…" or clients = […]')
        ok = False
    if not ok:
        return None
    return AccessRule(permission, tuple(clients) if clients is not None else None, reason)


# -- checks over the whole territory ----------------------------------------------------

def check_access(instances: Mapping[str, Instance], profiles: Mapping[str, Profile],
                 bindings: Mapping[tuple[str, str], Binding], registry: ConnectorRegistry,
                 report: Report, *, complete: bool = True) -> dict[tuple[str, str], Binding]:
    """Every access finding; returns the bindings with their overrides' ``access`` filled.

    ``complete`` is false when a profile could not be read (a misspelt connector): the
    permissions its endpoints declare are unknown, so a client's permission is not called
    unknown for that — the broken profile is the one error, the root cause."""
    clients = [c for inst in instances.values() for c in inst.clients.values()]
    _check_client_names(instances, profiles, {c.id for c in clients}, report)
    if complete:
        _check_permissions(instances, profiles, clients, registry, report)
    _check_profiles_open(profiles, registry, report)
    result = dict(bindings)
    for key, binding in bindings.items():
        result[key] = _check_binding(binding, clients, report)
    return result


def _rules(instances: Mapping[str, Instance],
           profiles: Mapping[str, Profile]) -> Iterable[tuple[_Path, AccessRule]]:
    for pname, profile in profiles.items():
        for endpoint, rule in profile.access.items():
            yield ("profiles", pname, "access", endpoint), rule
    for iname, inst in instances.items():
        for pname, rules in inst.access.items():
            for endpoint, rule in rules.items():
                yield ("instances", iname, "access", pname, endpoint), rule


def _check_client_names(instances: Mapping[str, Instance], profiles: Mapping[str, Profile],
                        known: set[str], report: Report) -> None:
    for path, rule in _rules(instances, profiles):
        for client in rule.clients or ():
            if client not in known:
                report.error((*path, "clients"), f"{client!r} names no known client",
                             hint=did_you_mean(client, known) or 'write "<instance>.<client>", e.g. "metz.wcs"')


def declared_permissions(registry: ConnectorRegistry) -> set[str]:
    """The permission names the installed connectors' endpoints declare (``open`` aside),
    and those the framework requires itself (``can_admin``: the status page)."""
    from framework.access import FRAMEWORK_PERMISSIONS

    endpoints = {spec.permission for info in registry.values() for spec in info.endpoints.values()}
    return (endpoints | FRAMEWORK_PERMISSIONS) - {OPEN}


def _check_permissions(instances: Mapping[str, Instance], profiles: Mapping[str, Profile],
                       clients: list[Client], registry: ConnectorRegistry, report: Report) -> None:
    declared = declared_permissions(registry)
    required = {r.permission for _, r in _rules(instances, profiles) if r.permission} - {OPEN}
    held = {p for c in clients for p in c.permissions}
    for client in clients:
        path: _Path = ("instances", client.instance, "clients", client.name, "permissions")
        for perm in client.permissions:
            if perm == OPEN:
                report.error(path, f"client {client.id}: \"open\" is not a permission to give",
                             hint="open endpoints need no permission; remove it")
            elif perm not in declared | required:
                report.error(path, f"client {client.id}: unknown permission {perm!r} (no endpoint needs it)",
                             hint=did_you_mean(perm, declared | required)
                             or f"known permissions: {', '.join(sorted(declared | required)) or 'none'}")
    for rpath, rule in _rules(instances, profiles):
        wanted = rule.permission
        if wanted is not None and wanted != OPEN and wanted not in declared | held:
            report.error((*rpath, "permission"), f"unknown permission {wanted!r}: no endpoint declares it "
                         "and no client holds it, so nobody could call this endpoint",
                         hint=did_you_mean(wanted, declared | held)
                         or "give it to the clients that must call it: permissions = [\"…\"]")


def _check_profiles_open(profiles: Mapping[str, Profile], registry: ConnectorRegistry, report: Report) -> None:
    from framework.access import declared

    for pname, profile in profiles.items():
        info = registry[profile.connector]
        for endpoint, rule in profile.access.items():
            spec = info.endpoints[endpoint]
            problem = open_problem(spec, declared(spec).then(rule, "profile"))
            if problem is not None:
                report.error(("profiles", pname, "access", endpoint), problem,
                             hint="add open_reason = \"…\" to the rule, or require a permission")


def _check_binding(binding: Binding, clients: list[Client], report: Report) -> Binding:
    inst, profile = binding.instance, binding.profile.name
    loosening: list[str] = []
    for endpoint, rule in inst.access.get(profile, {}).items():
        spec = binding.connector.endpoints.get(endpoint)
        if spec is None:
            continue  # added by the override's code: framework/checks/access.py
        path = ("instances", inst.name, "access", profile, endpoint)
        common, own = common_access(binding, spec), effective_access(binding, spec)
        problem = open_problem(spec, own)
        if problem is not None:
            report.error(path, problem, hint="add open_reason = \"…\" to the rule, or require a permission")
        admitted = loosened(common, own, inst, clients)
        if not admitted:
            continue  # as strict or stricter: free
        loosening.append(endpoint)
        if binding.override is None:
            report.error((*path, _keys(rule)[0]),
                         f"this rule loosens the common access of {profile}/{endpoint} "
                         f"({common.describe()} → {own.describe()}): it admits {_who(admitted)}; "
                         "loosening is an override",
                         hint=f"declare it under [instances.{inst.name}.overrides.{profile}] with a reason, "
                              "or tighten instead")
    if binding.override is None or not loosening:
        return binding
    decl = dataclasses.replace(binding.override, access=tuple(loosening))
    return dataclasses.replace(binding, override=decl)


def _keys(rule: AccessRule) -> list[str]:
    """The keys a rule sets, the most telling first (where its finding points)."""
    return [k for k in ("permission", "clients", "open_reason") if getattr(rule, k) is not None]


def _who(admitted: list[str]) -> str:
    shown = ", ".join(admitted[:4])
    return shown + (f" and {len(admitted) - 4} more" if len(admitted) > 4 else "")
