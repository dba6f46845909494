"""Layering effective settings: connector default < profile < instance."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from framework.config.model import Binding, EffectiveSetting, Instance, Profile, Source
from framework.config.report import Report
from framework.config.values import INVALID
from framework.declarations import REQUIRED
from framework.registry import ConnectorRegistry


def build_bindings(instances: Mapping[str, Instance], profiles: Mapping[str, Profile],
                   registry: ConnectorRegistry, report: Report,
                   file: str) -> dict[tuple[str, str], Binding]:
    bindings: dict[tuple[str, str], Binding] = {}
    for inst in instances.values():
        for pname in inst.profiles:
            profile = profiles[pname]
            binding = _bind(inst, profile, registry, report, file)
            if binding is not None:
                bindings[(inst.name, pname)] = binding
    return bindings


def _bind(inst: Instance, profile: Profile, registry: ConnectorRegistry, report: Report,
          file: str) -> Binding | None:
    info = registry[profile.connector]
    own = inst.settings.get(profile.name, {})
    effective: dict[str, EffectiveSetting] = {}
    for name, setting in info.settings.items():
        layers = []
        if setting.default is not REQUIRED:
            layers.append((Source("default", "", None), setting.default))
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
            continue  # already reported where it was written
        if not layers:
            report.error(("instances", inst.name, "profiles"),
                         f"{profile.name} ({info.id}) needs setting {name!r}, set nowhere",
                         hint=_where_to_set(inst.name, profile.name, setting.variability)
                         + (f" — {setting.description}" if setting.description else ""))
            continue
        source, value = layers[-1]
        effective[name] = EffectiveSetting(
            name=name, value=value, source=source,
            shadows=tuple(reversed(layers[:-1])), secret=setting.secret,
            variability=setting.variability,
        )
    override = inst.overrides.get(profile.name)
    if override is not None:
        shared = tuple(k for k in own if info.settings[k].variability == "shared")
        override = dataclasses.replace(override, settings=shared)
    return Binding(inst, profile, info, effective, override)


def _where_to_set(instance: str, profile: str, variability: str) -> str:
    if variability == "instance":
        return f"set it under [instances.{instance}.settings.{profile}]"
    return f"set it under [profiles.{profile}.settings]"
