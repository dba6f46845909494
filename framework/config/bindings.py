"""Layering effective settings: connector default < profile < instance."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from framework.config.model import Binding, EffectiveSetting, Instance, Profile, Source
from framework.config.report import Report
from framework.config.values import INVALID
from framework.declarations import REQUIRED, Setting
from framework.registry import ConnectorRegistry

_DEFAULT = Source("default", "", None)


def build_bindings(instances: Mapping[str, Instance], profiles: Mapping[str, Profile],
                   registry: ConnectorRegistry, report: Report,
                   file: str) -> dict[tuple[str, str], Binding]:
    bindings: dict[tuple[str, str], Binding] = {}
    # A setting an instance does not set itself is the same for every instance of the
    # profile: one (frozen) EffectiveSetting per (profile, setting), shared by all of
    # them, not one per binding: at 5,000 instances that is most of the territory's
    # objects, memory and load time.
    shared: dict[tuple[str, str], EffectiveSetting] = {}
    for inst in instances.values():
        for pname in inst.profiles:
            profile = profiles[pname]
            binding = _bind(inst, profile, registry, report, file, shared)
            if binding is not None:
                bindings[(inst.name, pname)] = binding
    return bindings


def _bind(inst: Instance, profile: Profile, registry: ConnectorRegistry, report: Report,
          file: str, shared: dict[tuple[str, str], EffectiveSetting]) -> Binding | None:
    info = registry[profile.connector]
    own = inst.settings.get(profile.name, {})
    effective: dict[str, EffectiveSetting] = {}
    for name, setting in info.settings.items():
        key = (profile.name, name)
        eff = None if name in own else shared.get(key)
        if eff is None:
            eff = _effective(inst, profile, info.id, name, setting, own, report, file)
            if eff is None:
                continue
            if name not in own:
                shared[key] = eff
        effective[name] = eff
    override = inst.overrides.get(profile.name)
    if override is not None:
        shared_names = tuple(k for k in own if info.settings[k].variability == "shared")
        override = dataclasses.replace(override, settings=shared_names)
    return Binding(inst, profile, info, effective, override)


def _effective(inst: Instance, profile: Profile, connector: str, name: str, setting: Setting[Any],
               own: Mapping[str, Any], report: Report, file: str) -> EffectiveSetting | None:
    """A setting's layers (default < profile < instance); None when a value is invalid
    (already reported where it was written) or when it is set nowhere (reported here)."""
    layers = []
    if setting.default is not REQUIRED:
        layers.append((_DEFAULT, setting.default))
    if name in profile.settings:
        line = report.lines.line(("profiles", profile.name, "settings", name)) if report.lines else None
        layers.append((Source("profile", file, line), profile.settings[name]))
    if name in own:
        line = (report.lines.line(("instances", inst.name, "settings", profile.name, name))
                if report.lines else None)
        club = inst.overrides[profile.name].club if profile.name in inst.overrides else None
        if line is None and club is not None and report.lines:
            line = report.lines.line(("clubs", club, "settings", name))  # the club's value
        layers.append((Source("instance", file, line), own[name]))
    if any(value is INVALID for _, value in layers):
        return None
    if not layers:
        report.error(("instances", inst.name, "profiles"),
                     f"{profile.name} ({connector}) needs setting {name!r}, set nowhere",
                     hint=_where_to_set(inst.name, profile.name, setting.variability)
                     + (f" — {setting.description}" if setting.description else ""))
        return None
    source, value = layers[-1]
    return EffectiveSetting(name=name, value=value, source=source, shadows=tuple(reversed(layers[:-1])),
                            secret=setting.secret, variability=setting.variability)


def _where_to_set(instance: str, profile: str, variability: str) -> str:
    if variability == "instance":
        return f"set it under [instances.{instance}.settings.{profile}]"
    return f"set it under [profiles.{profile}.settings]"
