"""`raccord check` for dispatch: found at check time, not by the first citizen's request."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.dispatch import territory as terr
from connectors.dispatch.boundaries import BoundariesError, codes
from framework import did_you_mean

if TYPE_CHECKING:
    from framework import Binding, Report, Territory


def check_territory(territory: Territory, report: Report) -> None:
    matrix_categories: set[str] = set()
    for binding in territory.bindings.values():
        if binding.connector.id == terr.DISPATCH_ID:
            _check_dispatch(territory, binding, report)
            matrix_categories.update(_table(binding, "competences"))
    for binding in terr.inbox_bindings(territory):
        own = _table(binding, "competences")
        if own:
            _check_targets(territory, binding, "competences", own, report)
        for category in own:
            if matrix_categories and category not in matrix_categories:
                report.warning(binding.setting_path("competences"),
                               f"exception for category {category!r}, which the competence matrix does not have",
                               hint=did_you_mean(category, matrix_categories) or "add it to the matrix first")


def _table(binding: Binding, name: str) -> Mapping[str, Any]:
    if name not in binding.settings:
        return {}
    value = binding.value(name)
    return value if isinstance(value, Mapping) else {}


def _check_dispatch(territory: Territory, binding: Binding, report: Report) -> None:
    if territory.triage and binding.instance.name != territory.triage:
        report.warning(("instances", binding.instance.name, "profiles"),
                       f"dispatch is bound to {binding.instance.name!r}, not to the triage instance "
                       f"{territory.triage!r} of [territory]", hint="bind it to the triage instance")
    _check_targets(territory, binding, "competences", _table(binding, "competences"), report)
    _check_targets(territory, binding, "first_recipients", _table(binding, "first_recipients"), report,
                   keywords=False)
    _check_score(binding, report)
    _check_geocoder(territory, binding, report)
    _check_boundaries(territory, binding, report)
    without = sorted(i.name for i in terr.communes(territory).values()
                     if terr.inbox_binding(territory, i.name) is None)
    if without and "commune" in _table(binding, "competences").values():
        shown = ", ".join(without[:5]) + ("…" if len(without) > 5 else "")
        report.warning(binding.setting_path("competences"),
                       f"{len(without)} commune instance(s) have no inbox ({shown}): their requests are "
                       "stored but nobody can read them", hint="add a dispatch_inbox profile to them")


def _check_targets(territory: Territory, binding: Binding, name: str, table: Mapping[str, Any],
                   report: Report, *, keywords: bool = True) -> None:
    path = binding.setting_path(name)
    for category, target in table.items():
        where = (*path, str(category)) if path[-1] == name else path
        if not isinstance(target, str):
            report.error(where, f"{category!r} = {target!r}: expected an instance name",
                         hint='write e.g. voirie = "metropole"')
        elif keywords and target in terr.KEYWORDS:
            continue
        elif target not in territory.instances:
            allowed = [*terr.KEYWORDS, *territory.instances] if keywords else list(territory.instances)
            report.error(where, f"{category!r} goes to {target!r}, which is not an instance"
                         + (" nor 'commune' / 'triage'" if keywords else ""),
                         hint=did_you_mean(target, allowed) or "name an instance of [instances]")
        elif keywords and terr.inbox_binding(territory, target) is None:
            report.error(where, f"{category!r} goes to {target!r}, which has no inbox",
                         hint=f"add a dispatch_inbox profile to instances.{target}.profiles")


def _check_score(binding: Binding, report: Report) -> None:
    if "min_score" in binding.settings and not 0 <= binding.value("min_score") <= 1:
        report.error(binding.setting_path("min_score"), f"min_score = {binding.value('min_score')}: "
                     "geocoder scores go from 0 to 1", hint="e.g. min_score = 0.6")


def _check_geocoder(territory: Territory, binding: Binding, report: Report) -> None:
    profile = binding.value("geocoder") if "geocoder" in binding.settings else ""
    if not profile:
        return
    peer = territory.bindings.get((binding.instance.name, profile))
    if peer is None or peer.connector.id != "base_adresse":
        report.error(binding.setting_path("geocoder"),
                     f"geocoder = {profile!r}: instance {binding.instance.name!r} has no base_adresse "
                     "binding of that profile",
                     hint=did_you_mean(profile, territory.instances[binding.instance.name].profiles)
                     or "name one of its profiles bound to base_adresse, or set geocoder = \"\"")


def _check_boundaries(territory: Territory, binding: Binding, report: Report) -> None:
    file = binding.value("boundaries") if "boundaries" in binding.settings else ""
    if not file:
        return
    path = binding.setting_path("boundaries")
    try:
        found = codes(Path(territory.base_dir, file), binding.value("boundaries_code_property"),
                      binding.value("boundaries_name_property"))
    except BoundariesError as exc:
        report.error(path, str(exc), hint="give a GeoJSON FeatureCollection of polygons, relative to instances.toml")
        return
    missing = sorted(set(terr.communes(territory)) - set(found))
    if missing:
        report.warning(path, f"no boundary for commune(s) {', '.join(missing)}: their points go to triage",
                       hint="add their polygons to the file")
