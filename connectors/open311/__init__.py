"""open311: technical-services ticketing software through the Open311 GeoReport v2 standard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framework import hookimpl

if TYPE_CHECKING:
    from framework.app import Raccord
    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegister, ConnectorRegistry


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.open311.connector import Open311

    register.add(Open311)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """A notification profile that is not an e-mail binding of the same instance, or a
    jurisdiction given for an instance the binding does not host, is found by `check`."""
    for binding in territory.bindings.values():
        if binding.connector.id != "open311":
            continue
        instance = binding.instance
        profile = binding.value("notify_profile") if "notify_profile" in binding.settings else ""
        if profile:
            other = territory.bindings.get((instance.name, profile))
            if other is None or other.connector.id != "email":
                report.error(binding.setting_path("notify_profile"),
                             f"{instance.name} has no e-mail binding {profile!r} to notify citizens with",
                             hint=f"add a profile of connector \"email\" to instances.{instance.name}.profiles, "
                                  "or leave notify_profile empty")
        jurisdictions = binding.value("jurisdictions") if "jurisdictions" in binding.settings else {}
        for name in jurisdictions:
            hosted = territory.instances.get(name)
            if hosted is None or hosted.hosted_by != instance.name:
                report.error(binding.setting_path("jurisdictions"),
                             f"jurisdictions names {name!r}, which is not hosted by {instance.name}",
                             hint=f"only instances with hosted_by = \"{instance.name}\" can be served here")


@hookimpl
def raccord_history(raccord: Raccord, ref: str) -> list[dict[str, Any]] | None:
    """How the request was dispatched, its ticket, each status, each notification queued."""
    from connectors.open311.history import events

    return events(raccord, ref) or None
