"""email: messages to citizens in the responsible entity's identity, through SMTP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import hookimpl

if TYPE_CHECKING:
    from framework.app import Raccord
    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegister, ConnectorRegistry


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.email.connector import Email

    register.add(Email)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Senders that are addresses, template directories that exist, per-instance senders
    only for hosted instances: found by `raccord check`, not by the first citizen."""
    for binding in territory.bindings.values():
        if binding.connector.id != "email":
            continue
        values = {name: eff.value for name, eff in binding.settings.items()}
        senders = values.get("senders") or {}
        for name, address in [("sender", values.get("sender")), *((f"senders.{k}", v) for k, v in senders.items())]:
            if isinstance(address, str) and "@" not in address:
                report.error(binding.setting_path(name.partition(".")[0]), f"{name} = {address!r} is not an address",
                             hint='write "noreply@mairie.example"')
        for name in senders:
            hosted = territory.instances.get(name)
            if hosted is None or hosted.hosted_by != binding.instance.name:
                report.error(binding.setting_path("senders"),
                             f"senders names {name!r}, which is not hosted by {binding.instance.name}")
        directory = values.get("template_dir")
        if directory and not Path(territory.base_dir, directory).is_dir():
            report.error(binding.setting_path("template_dir"), f"template_dir {directory!r} is not a directory",
                         hint="a path relative to instances.toml holding <name>.subject.txt, <name>.txt, "
                              "<name>.html")


@hookimpl
def raccord_history(raccord: Raccord, ref: str) -> list[dict[str, Any]] | None:
    """Each message of an outbox about ``ref`` (the payload's ``ref``): sent when, which Message-ID."""
    from connectors.email.connector import OUTBOX

    found = []
    for (instance, profile), binding in raccord.territory.bindings.items():
        if binding.connector.id != "email":
            continue
        store = raccord.bound(instance, profile).connector.store
        for record in store.search(OUTBOX, ref):
            if record.get("ref") == ref:
                sent = record["state"] == "sent"
                found.append({"at": record.get("sent_at") or record.get("created_at"), "instance": instance,
                              "profile": profile, "event": "e-mail sent" if sent else "e-mail sending",
                              "detail": f"{record['message_id']} to {record['to']}: {record['subject']}",
                              "ref": ref, "key": record["key"]})
    return found or None
