"""payfip: DGFiP PayFiP online payments (creerPaiementSecurise, recupererDetailPaiementSecurise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from framework import hookimpl
from framework.registry import ConnectorRegister

if TYPE_CHECKING:
    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegistry


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.payfip.connector import PayFiP

    register.add(PayFiP)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Each PayFiP binding's régie number is 6 digits (found by `raccord check`, not at payment)."""
    from connectors.payfip.rules import NUMCLI_RE

    for binding in territory.bindings.values():
        if binding.connector.id != "payfip" or "numcli" not in binding.settings:
            continue
        value = binding.settings["numcli"].value
        if not NUMCLI_RE.fullmatch(str(value)):
            inst, prof = binding.instance.name, binding.profile.name
            report.error(binding.setting_path("numcli"),
                         f"numcli {value!r} of {inst}/{prof} is not a PayFiP régie number",
                         hint="the DGFiP gives each régie a 6-digit number, e.g. numcli = \"012345\"")
