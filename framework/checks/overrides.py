"""The override ledger checks of ``raccord check``.

Every override is a declared, costed deviation from the common project; this plugin
makes sure the ledger tells the truth:

- an override's code imports, implements ``raccord_override``, and replaces only what
  the connector has (errors, at the override's ``plugin`` line);
- an override whose ``review_by`` date has passed is flagged (warning);
- dead overrides are reported: a per-instance value of a shared setting equal to the
  common one (warning), a replaced endpoint/job/extension the connector no longer has
  (error: the code cannot run), a declaration with neither code nor settings (warning).

Undeclared deviations (a shared setting set per instance without a declaration) are
reported by the loader itself (framework/config/instances.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from framework import hookimpl
from framework.config.model import Binding, OverrideDecl, Territory
from framework.config.report import Report
from framework.registry import ConnectorRegistry

#: "today" for review dates; tests replace it (``monkeypatch.setattr(overrides, "today", …)``).
today: Callable[[], dt.date] = dt.date.today


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    for binding in territory.bindings.values():
        if binding.override is not None:
            check_override(binding, report, today())


def check_override(binding: Binding, report: Report, on: dt.date) -> None:
    """Every ledger finding for one overridden binding."""
    decl = binding.override
    assert decl is not None
    opath = override_path(decl)
    # A club's declaration is one line of the ledger: its findings are reported once.
    first = not decl.club or decl.instance == decl.members[0]
    if first and decl.review_by is not None and decl.review_by < on:
        report.warning((*opath, "review_by"),
                       f"override {decl.ledger_id} was due for review on {decl.review_by.isoformat()}"
                       + (f" (members: {', '.join(decl.members)})" if decl.club else ""),
                       hint="review it with its owner: harmonise and remove it, or set a new review_by")
    if decl.club:
        if first:
            report.info(opath, f"club override {decl.ledger_id} ({decl.profile}) shared by "
                               f"{len(decl.members)} instances: {', '.join(decl.members)}")
        else:
            return
    if decl.plugin is None and not decl.settings and not decl.access:
        report.warning(opath, f"dead override {decl.id}: it declares neither code, shared settings "
                       "nor a loosened access",
                       hint="remove the declaration, or add plugin = \"contrib.…\" or the settings it covers")
    if decl.plugin is not None:
        _check_plugin(binding, report, opath)
    for name in decl.settings:
        _check_value(binding, name, report)


def override_path(decl: OverrideDecl) -> tuple[str, ...]:
    """Where the declaration is written: the club's table, or the instance's."""
    if decl.club:
        return ("clubs", decl.club)
    return ("instances", decl.instance, "overrides", decl.profile)


def _check_plugin(binding: Binding, report: Report, opath: tuple[str, ...]) -> None:
    decl = binding.override
    assert decl is not None and decl.plugin is not None
    folder = "clubs" if decl.club else decl.instance
    expected = f"contrib.{folder}."
    if not decl.plugin.startswith(expected):
        report.warning((*opath, "plugin"),
                       f"override code {decl.plugin} is not under contrib/{folder}/",
                       hint=f"an instance's specifics live in its own folder: {expected}<module>")
    # Applied once at load: framework.overrides.apply_overrides reports a failure there, and
    # what it changes is listed by `raccord check` and `raccord explain --deviations`.


def _check_value(binding: Binding, name: str, report: Report) -> None:
    eff = binding.settings.get(name)
    if eff is None or not eff.shadows:
        return
    common_source, common = eff.shadows[0]  # the next layer down: profile, else default
    if eff.value == common:
        where = "the profile" if common_source.layer == "profile" else "the connector default"
        report.warning(("instances", binding.instance.name, "settings", binding.profile.name, name),
                       f"dead override {binding.id}: {name} = {eff.shown()} equals {where}",
                       hint="remove this per-instance value: the common one already applies")
