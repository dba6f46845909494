"""base_adresse: the Base Adresse Nationale (api-adresse.data.gouv.fr) as a data source."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from framework import hookimpl
from framework.registry import ConnectorRegister

if TYPE_CHECKING:
    from framework.config.model import Binding, Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegistry

_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.base_adresse.connector import BaseAdresse

    register.add(BaseAdresse)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Limits within what the BAN serves and INSEE codes that are codes: found by
    `raccord check`, not by the first citizen whose search fails."""
    seen: set[tuple[str, ...]] = set()  # a profile's value is reported once, not per instance
    for binding in territory.bindings.values():
        if binding.connector.id == "base_adresse":
            _check_binding(binding, report, seen)


def _check_binding(binding: Binding, report: Report, seen: set[tuple[str, ...]]) -> None:
    from connectors.base_adresse.connector import MAX_LIMIT

    # A value that failed validation is already reported and absent from the binding.
    for name in ("limit", "streets_limit"):
        if name not in binding.settings:
            continue
        value, path = binding.value(name), binding.setting_path(name)
        if not 1 <= value <= MAX_LIMIT and path not in seen:
            seen.add(path)
            report.error(path, f"{name} = {value}: the BAN serves 1 to {MAX_LIMIT} answers",
                         hint=f"set {name} between 1 and {MAX_LIMIT}")
    if "citycodes" not in binding.settings:
        return
    path = binding.setting_path("citycodes")
    for code in binding.value("citycodes"):
        if not (isinstance(code, str) and _INSEE.match(code)) and (*path, str(code)) not in seen:
            seen.add((*path, str(code)))
            report.error(path, f"{code!r} is not an INSEE commune code",
                         hint='write codes as 5-character strings: "57463"')
