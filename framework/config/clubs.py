"""Parsing ``[clubs.*]``: one override declared once for several instances.

```toml
[clubs.enveloppes]
name = "Club des enveloppes La Poste"
profile = "adresse"
members = ["woippy", "marly", "montigny-les-metz"]
reason = "…"
owner = "…"
review_by = 2027-06-30
plugin = "contrib.clubs.enveloppes"      # optional: code shared by the members
settings = { limit = 15 }                # optional: shared settings set for every member
cost = { setup_days = 1.5, yearly_days = 0.5 }
shares = { woippy = 2, marly = 1, montigny-les-metz = 1 }   # optional; else the territory's split
```

Each member's binding then carries the override (``OverrideDecl.club`` names the club),
exactly as if it had declared it itself, so the gateway, journal, metrics and
``explain`` flag it; the ledger and the costs show it as one line with its members.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from framework.config import sections as S
from framework.config.model import Club, Instance, OverrideDecl, Profile
from framework.config.report import Report, did_you_mean
from framework.config.values import INVALID, check_keys, expect, setting_value
from framework.registry import ConnectorRegistry

_Path = tuple[str, ...]


def parse_clubs(table: dict[str, Any], report: Report, registry: ConnectorRegistry,
                profiles: Mapping[str, Profile], instances: Mapping[str, Instance],
                base_dir: str) -> dict[str, Club]:
    clubs: dict[str, Club] = {}
    member_of: dict[tuple[str, str], str] = {}
    for name, body in table.items():
        path = ("clubs", name)
        if not isinstance(body, dict):
            report.error(path, "a club must be a table", hint=f"write it as [clubs.{name}]")
            continue
        check_keys(report, path, body, S.CLUB)
        club = _parse_club(name, body, report, registry, profiles, instances, base_dir)
        if club is None:
            continue
        for member in club.members:
            key = (member, club.profile)
            if key in member_of:
                report.error((*path, "members"), f"{member} is already in club {member_of[key]!r} for "
                             f"profile {club.profile!r}", hint="an instance joins one club per profile")
            member_of[key] = name
        clubs[name] = club
    return clubs


def _parse_club(name: str, body: dict[str, Any], report: Report, registry: ConnectorRegistry,
                profiles: Mapping[str, Profile], instances: Mapping[str, Instance],
                base_dir: str) -> Club | None:
    path = ("clubs", name)
    profile = body.get("profile")
    if not isinstance(profile, str) or profile not in profiles:
        report.error((*path, "profile") if "profile" in body else path,
                     f"club {name!r} needs the profile it overrides, got {profile!r}",
                     hint=did_you_mean(str(profile), profiles) or f"one of {', '.join(profiles)}")
        return None
    members = _members(body.get("members"), report, path, profile, instances)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        report.error(path, "a club override needs a reason", hint='say why these instances differ: reason = "…"')
        reason = ""
    review_by = body.get("review_by")
    if review_by is not None and not isinstance(review_by, dt.date):
        report.error((*path, "review_by"), f"{review_by!r} is not a date", hint="write review_by = 2027-06-30")
        review_by = None
    plugin = body.get("plugin")
    if plugin is not None and (not isinstance(plugin, str) or not plugin.startswith("contrib.")):
        report.error((*path, "plugin"), f"club code {plugin!r} must live under contrib/",
                     hint=f'write plugin = "contrib.clubs.{name.replace("-", "_")}"')
        plugin = None
    from framework.config.loader import parse_cost

    cost = parse_cost(body.get("cost", {}), report, (*path, "cost"))
    return Club(
        name=name, title=str(body.get("name", name)), profile=profile, members=members,
        reason=reason, owner=str(body.get("owner", "")), review_by=review_by, plugin=plugin,
        setup_days=cost.setup_days, yearly_days=cost.yearly_days,
        settings=_settings(body.get("settings", {}), report, path, registry, profiles[profile], base_dir),
        shares=_shares(body.get("shares", {}), report, path, members),
    )


def _members(value: Any, report: Report, path: _Path, profile: str,
             instances: Mapping[str, Instance]) -> tuple[str, ...]:
    mpath = (*path, "members")
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        report.error(mpath if value is not None else path, "a club needs members = [\"<instance>\", …]")
        return ()
    kept: list[str] = []
    for member in value:
        inst = instances.get(member)
        if inst is None:
            report.error(mpath, f"unknown instance {member!r}",
                         hint=did_you_mean(member, instances) or "name instances defined in this file")
        elif profile not in inst.profiles:
            report.error(mpath, f"{member} does not bind profile {profile!r}",
                         hint=f"add {profile!r} to instances.{member}.profiles, or leave it out of the club")
        elif profile in inst.overrides:
            report.error(mpath, f"{member} already declares its own override of {profile!r}",
                         hint=f"remove [instances.{member}.overrides.{profile}]: the club's override replaces it")
        elif member in kept:
            report.error(mpath, f"{member} is listed twice")
        else:
            kept.append(member)
    if len(value) < 2:
        report.error(mpath, "a club needs at least two members",
                     hint="for one instance, declare [instances.<name>.overrides.<profile>]")
    return tuple(kept)


def _settings(value: Any, report: Report, path: _Path, registry: ConnectorRegistry, profile: Profile,
              base_dir: str) -> dict[str, Any]:
    spath = (*path, "settings")
    if not isinstance(value, dict):
        report.error(spath, "expected a table of settings: settings = { limit = 15 }")
        return {}
    info = registry[profile.connector]
    kept: dict[str, Any] = {}
    for key, raw in value.items():
        setting = info.settings.get(key)
        if setting is None:
            report.error((*spath, key), f"{info.id} has no setting {key!r}",
                         hint=did_you_mean(key, info.settings) or f"its settings: {', '.join(sorted(info.settings))}")
            continue
        if setting.variability != "shared":
            report.error((*spath, key), f"{key!r} is a{'' if setting.variability == 'instance' else ' fixed'} "
                         f"{setting.variability} setting of {info.id}: a club sets shared settings only",
                         hint="set per-instance values under [instances.<name>.settings.<profile>]")
            continue
        ok, kept_value = setting_value(setting, raw, report, (*spath, key), base_dir)
        kept[key] = kept_value if ok else INVALID
    return kept


def _shares(value: Any, report: Report, path: _Path, members: tuple[str, ...]) -> dict[str, float]:
    spath = (*path, "shares")
    if not isinstance(value, dict):
        report.error(spath, "expected shares = { <member> = <weight>, … }")
        return {}
    shares: dict[str, float] = {}
    for member, weight in value.items():
        if member not in members:
            report.error(spath, f"share for {member!r}, which is not a member of the club")
        elif expect(report, (*spath, member), weight, float, "a number") and weight >= 0:
            shares[member] = float(weight)
        else:
            report.error((*spath, member), "a share must be a number, 0 or more")
    if shares and set(shares) != set(members):
        missing = ", ".join(m for m in members if m not in shares)
        report.error(spath, f"shares must name every member (missing: {missing})",
                     hint="or leave shares out: the territory's split rule applies")
    return shares


def apply_clubs(clubs: Mapping[str, Club], instances: dict[str, Instance]) -> dict[str, Instance]:
    """Give each member the club's override declaration and its settings (the member's
    own values of those settings, if any, stay on top)."""
    result = dict(instances)
    for club in clubs.values():
        decl = OverrideDecl(instance="", profile=club.profile, reason=club.reason, owner=club.owner,
                            review_by=club.review_by, plugin=club.plugin, setup_days=club.setup_days,
                            yearly_days=club.yearly_days, club=club.name, members=club.members)
        for member in club.members:
            inst = result[member]
            own = dict(inst.settings.get(club.profile, {}))
            settings = {**inst.settings, club.profile: {**club.settings, **own}}
            overrides = {**inst.overrides, club.profile: dataclasses.replace(decl, instance=member)}
            result[member] = dataclasses.replace(inst, settings=settings, overrides=overrides)
    return result
