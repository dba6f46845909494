"""Parsing ``[instances.*]``: identity, topology, settings, clients and overrides."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from framework.config import sections as S
from framework.config.access import parse_instance_access
from framework.config.model import (
    BasicAuth,
    Client,
    Instance,
    OverrideDecl,
    Profile,
    SignatureAuth,
)
from framework.config.names import name_problem
from framework.config.report import Report, did_you_mean
from framework.config.values import INVALID, check_keys, expect, secret_ref, setting_value
from framework.registry import ConnectorRegistry

_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_Path = tuple[str, ...]


def parse_instances(table: dict[str, Any], report: Report, registry: ConnectorRegistry,
                    profiles: Mapping[str, Profile], base_dir: str,
                    broken: set[str] | frozenset[str] = frozenset()) -> dict[str, Instance]:
    """``broken``: profiles written but invalid (already reported where they are)."""
    instances: dict[str, Instance] = {}
    for name, body in table.items():
        path = ("instances", name)
        if not isinstance(body, dict):
            report.error(path, "an instance must be a table", hint=f"write it as [instances.{name}]")
            continue
        if (problem := name_problem("instance", name)) is not None:
            report.error(path, problem[0], hint=problem[1])
        check_keys(report, path, body, S.INSTANCE)
        instances[name] = _parse_instance(name, body, report, registry, profiles, base_dir, broken)
    _check_topology(instances, report)
    _check_insee(instances, report)
    _check_grants(instances, report)
    return instances


def _parse_instance(name: str, body: dict[str, Any], report: Report, registry: ConnectorRegistry,
                    profiles: Mapping[str, Profile], base_dir: str, broken: set[str] | frozenset[str]) -> Instance:
    path = ("instances", name)
    kind = body.get("kind", "commune")
    if not isinstance(kind, str) or kind not in S.KINDS:
        report.error((*path, "kind"), f"unknown kind {kind!r}",
                     hint=did_you_mean(str(kind), S.KINDS) or f"use one of {', '.join(sorted(S.KINDS))}")
    used = _parse_profile_list(body.get("profiles", []), report, path, profiles, broken)
    # Tables of a broken profile are skipped silently: its one error is the root cause.
    overrides = _parse_overrides(_drop(body.get("overrides", {}), broken), report, path, used)
    settings = _parse_settings(_drop(body.get("settings", {}), broken), report, path, used, profiles,
                               registry, overrides, base_dir)
    return Instance(
        name=name,
        title=str(body.get("name", name)),
        kind=str(kind),
        insee=_parse_insee(body.get("insee", []), report, path),
        population=_number(body, "population", int, report, path, 0),
        weight=float(_number(body, "weight", float, report, path, 1.0)),
        identity=_parse_identity(body.get("identity", {}), report, path),
        hosted_by=_parse_hosted_by(body, report, path),
        profiles=tuple(used),
        settings=settings,
        clients=_parse_clients(body.get("clients", {}), report, path, name, base_dir),
        overrides=overrides,
        grants=_parse_grants(body.get("grants", []), report, path),
        access=parse_instance_access(_drop(body.get("access", {}), broken), report, path, used, profiles,
                                     registry, overrides),
    )


def _parse_hosted_by(body: dict[str, Any], report: Report, path: _Path) -> str | None:
    host = body.get("hosted_by")
    if host is None or isinstance(host, str):
        return host
    report.error((*path, "hosted_by"), f"expected the name of an instance, got {host!r}",
                 hint='hosted_by = "metropole"')
    return None


def _parse_grants(value: Any, report: Report, path: _Path) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(g, str) for g in value):
        return tuple(value)
    report.error((*path, "grants"), "expected a list of \"<instance>.<client>\" names",
                 hint='grants = ["metropole.wcs"]')
    return ()


def _number(body: dict[str, Any], key: str, kind: type, report: Report, path: _Path, default: Any) -> Any:
    value = body.get(key, default)
    if not expect(report, (*path, key), value, kind, "a number"):
        return default
    if value < 0:
        report.error((*path, key), "must not be negative")
        return default
    return value


def _drop(table: Any, names: set[str] | frozenset[str]) -> Any:
    return {k: v for k, v in table.items() if k not in names} if isinstance(table, dict) else table


def _parse_profile_list(value: Any, report: Report, path: _Path, profiles: Mapping[str, Profile],
                        broken: set[str] | frozenset[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report.error((*path, "profiles"), "expected a list of profile names", hint='profiles = ["adresse"]')
        return []
    used = []
    for name in value:
        if name in profiles:
            used.append(name)
        elif name not in broken:
            report.error((*path, "profiles"), f"unknown profile {name!r}",
                         hint=did_you_mean(name, profiles) or "define it under [profiles.<name>]")
    return used


def _parse_insee(value: Any, report: Report, path: _Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        report.error((*path, "insee"), "expected a list of INSEE codes", hint='insee = ["57463"]')
        return ()
    codes = []
    for code in value:
        if isinstance(code, str) and _INSEE.match(code):
            codes.append(code)
        else:
            report.error((*path, "insee"), f"{code!r} is not an INSEE commune code",
                         hint="five characters, as a string: \"57463\"")
    return tuple(codes)


def _parse_identity(value: Any, report: Report, path: _Path) -> dict[str, str]:
    if not isinstance(value, dict):
        report.error((*path, "identity"), "expected a table { logo = …, color = … }")
        return {}
    check_keys(report, (*path, "identity"), value, S.IDENTITY)
    color = value.get("color")
    if color is not None and not (isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}", color)):
        report.error((*path, "identity", "color"), f"{color!r} is not a colour", hint='write "#7a1f3d"')
    return {k: str(v) for k, v in value.items() if k in S.IDENTITY}


def _parse_settings(value: Any, report: Report, path: _Path, used: list[str],
                    profiles: Mapping[str, Profile], registry: ConnectorRegistry,
                    overrides: Mapping[str, OverrideDecl], base_dir: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        report.error((*path, "settings"), "expected [instances.<name>.settings.<profile>] tables")
        return {}
    result: dict[str, dict[str, Any]] = {}
    for profile_name, table in value.items():
        ppath = (*path, "settings", profile_name)
        if profile_name not in used:
            report.error(ppath, f"settings for profile {profile_name!r}, which this instance does not use",
                         hint=f"add {profile_name!r} to {path[1]}'s profiles, or remove this table")
            continue
        if not isinstance(table, dict):
            report.error(ppath, "expected a table of settings")
            continue
        info = registry[profiles[profile_name].connector]
        override = overrides.get(profile_name)
        kept: dict[str, Any] = {}
        for key, raw in table.items():
            spath = (*ppath, key)
            setting = info.settings.get(key)
            if setting is None:
                report.error(spath, f"{info.id} has no setting {key!r}",
                             hint=did_you_mean(key, info.settings)
                             or f"its settings: {', '.join(sorted(info.settings))}")
                continue
            if setting.variability == "fixed":
                report.error(spath, f"{key!r} is a fixed setting of {info.id}; it must not differ per instance",
                             hint=f"remove it here; change it for everyone under [profiles.{profile_name}.settings]")
                continue
            if setting.variability == "shared" and override is None:
                report.error(spath, f"{key!r} is a shared setting of {info.id}; setting it here is an override",
                             hint=f"declare it under [{'.'.join(path)}.overrides.{profile_name}] with a reason")
            ok, kept_value = setting_value(setting, raw, report, spath, base_dir)
            kept[key] = kept_value if ok else INVALID
        result[profile_name] = kept
    return result


def _parse_overrides(value: Any, report: Report, path: _Path, used: list[str]) -> dict[str, OverrideDecl]:
    if not isinstance(value, dict):
        report.error((*path, "overrides"), "expected [instances.<name>.overrides.<profile>] tables")
        return {}
    result: dict[str, OverrideDecl] = {}
    for profile_name, body in value.items():
        opath = (*path, "overrides", profile_name)
        if profile_name not in used:
            report.error(opath, f"override of profile {profile_name!r}, which this instance does not use",
                         hint=f"add {profile_name!r} to the instance's profiles, or remove the override")
            continue
        if not isinstance(body, dict):
            report.error(opath, "expected a table with reason, owner, review_by…")
            continue
        check_keys(report, opath, body, S.OVERRIDE)
        decl = _parse_override(path[1], profile_name, body, report, opath)
        if decl is not None:
            result[profile_name] = decl
    return result


def _parse_override(instance: str, profile: str, body: dict[str, Any], report: Report,
                    opath: _Path) -> OverrideDecl | None:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        report.error(opath, "an override needs a reason",
                     hint='say why this instance differs: reason = "…"')
        reason = ""
    review_by = body.get("review_by")
    # A TOML datetime is a dt.datetime, itself a dt.date: comparing it with today's date
    # crashed every command. A review is due on a day, not at an hour.
    if review_by is not None and (not isinstance(review_by, dt.date) or isinstance(review_by, dt.datetime)):
        report.error((*opath, "review_by"), f"{review_by!s} is not a date",
                     hint="write a plain date, without a time: review_by = 2027-06-30")
        review_by = None
    plugin = body.get("plugin")
    if plugin is not None and (not isinstance(plugin, str) or not plugin.startswith("contrib.")):
        report.error((*opath, "plugin"), f"override code {plugin!r} must live under contrib/",
                     hint=f'write plugin = "contrib.{instance}.<module>"; never under connectors/')
        plugin = None
    from framework.config.loader import parse_cost

    cost = parse_cost(body.get("cost", {}), report, (*opath, "cost"))
    return OverrideDecl(
        instance=instance,
        profile=profile,
        reason=reason,
        owner=str(body.get("owner", "")),
        review_by=review_by,
        plugin=plugin,
        setup_days=cost.setup_days,
        yearly_days=cost.yearly_days,
    )


def _parse_clients(value: Any, report: Report, path: _Path, instance: str,
                   base_dir: str) -> dict[str, Client]:
    if not isinstance(value, dict):
        report.error((*path, "clients"), "expected [instances.<name>.clients.<client>] tables")
        return {}
    clients: dict[str, Client] = {}
    origs: dict[str, str] = {}
    for name, body in value.items():
        cpath = (*path, "clients", name)
        if not isinstance(body, dict):
            report.error(cpath, "a client must be a table")
            continue
        check_keys(report, cpath, body, S.CLIENT)
        client = _parse_client(name, instance, body, report, cpath, base_dir)
        if client.signature is not None:
            if client.signature.orig in origs:
                report.error((*cpath, "signature", "orig"),
                             f"orig {client.signature.orig!r} is already client {origs[client.signature.orig]!r}",
                             hint="each signing client needs its own orig")
            origs[client.signature.orig] = name
        if not (client.apikey or client.basic or client.signature):
            report.error(cpath, "the client has no credentials",
                         hint="give it apikey, basic or signature")
        clients[name] = client
    return clients


def _parse_client(name: str, instance: str, body: dict[str, Any], report: Report, cpath: _Path,
                  base_dir: str) -> Client:
    apikey = secret_ref(body["apikey"], report, (*cpath, "apikey"), base_dir) if "apikey" in body else None
    basic = None
    if isinstance(b := body.get("basic"), dict):
        check_keys(report, (*cpath, "basic"), b, S.BASIC)
        password = secret_ref(b.get("password"), report, (*cpath, "basic", "password"), base_dir)
        if isinstance(b.get("username"), str) and password is not None:
            basic = BasicAuth(b["username"], password)
        elif not isinstance(b.get("username"), str):
            report.error((*cpath, "basic"), "basic needs a username")
    signature = None
    if isinstance(s := body.get("signature"), dict):
        signature = _parse_signature(s, report, (*cpath, "signature"), base_dir)
    perms = body.get("permissions", [])
    if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
        report.error((*cpath, "permissions"), "expected a list of permission names")
        perms = []
    error_status = body.get("error_status")
    if error_status is not None and error_status not in S.ERROR_STATUS:
        report.error((*cpath, "error_status"), f"error_status must be one of "
                     f"{', '.join(sorted(S.ERROR_STATUS))}, not {error_status!r}",
                     hint='"passerelle" (HTTP 200 and err 1, as w.c.s. expects) or "http"')
        error_status = None
    return Client(name, instance, apikey, basic, signature, tuple(perms), error_status)


def _parse_signature(s: dict[str, Any], report: Report, spath: _Path, base_dir: str) -> SignatureAuth | None:
    check_keys(report, spath, s, S.SIGNATURE)
    secret = secret_ref(s.get("secret"), report, (*spath, "secret"), base_dir)
    orig = s.get("orig")
    if not isinstance(orig, str) or not orig:
        report.error(spath, "a signing client needs orig (the caller's id, w.c.s. uses its host name)")
        return None
    algos = s.get("algos", ["sha256", "sha512"])
    if not isinstance(algos, list) or not all(isinstance(a, str) and a in S.SIGNATURE_ALGOS for a in algos):
        report.error((*spath, "algos"), f"algos must be a list among {', '.join(sorted(S.SIGNATURE_ALGOS))}")
        algos = ["sha256", "sha512"]
    nonce = s.get("nonce", "required")
    if not isinstance(nonce, str) or nonce not in S.NONCE_POLICIES:
        report.error((*spath, "nonce"), f"nonce must be one of {', '.join(sorted(S.NONCE_POLICIES))}")
    if secret is None:
        return None
    return SignatureAuth(orig, secret, tuple(algos), nonce != "optional")


def _check_topology(instances: Mapping[str, Instance], report: Report) -> None:
    for name, inst in instances.items():
        host = inst.hosted_by
        if host is None:
            continue
        if host not in instances:
            report.error(("instances", name, "hosted_by"), f"unknown instance {host!r}",
                         hint=did_you_mean(host, instances) or "name an instance defined in this file")
            continue
        seen = [name]
        while host is not None and host in instances:
            if host in seen:
                cycle = " → ".join([*seen, host])
                report.error(("instances", name, "hosted_by"), f"hosted_by forms a cycle: {cycle}",
                             hint="the last instance of a chain must run its own deployment")
                break
            seen.append(host)
            host = instances[host].hosted_by


def _check_insee(instances: Mapping[str, Instance], report: Report) -> None:
    owner: dict[str, str] = {}
    for name, inst in instances.items():
        for code in inst.insee:
            if code in owner:
                report.error(("instances", name, "insee"),
                             f"INSEE code {code} is already claimed by instance {owner[code]!r}",
                             hint="a commune belongs to one instance; remove it from one of them")
            else:
                owner[code] = name


def _check_grants(instances: Mapping[str, Instance], report: Report) -> None:
    for name, inst in instances.items():
        for grant in inst.grants:
            other, _, client = grant.partition(".")
            if other not in instances or client not in instances[other].clients:
                report.error(("instances", name, "grants"), f"grant {grant!r} names no known client",
                             hint='write "<instance>.<client>", e.g. "metropole.wcs"')
