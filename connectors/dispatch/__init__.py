"""dispatch: mutualised requests routed to the responsible entity, and each entity's inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from framework import hookimpl

if TYPE_CHECKING:
    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegister, ConnectorRegistry


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.dispatch.connector import Dispatch
    from connectors.dispatch.inbox import DispatchInbox

    register.add(Dispatch)
    register.add(DispatchInbox)


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """The competence matrix and the communes' exceptions name instances that exist and
    have an inbox; the geocoder and boundaries a dispatch binding relies on are usable."""
    from connectors.dispatch.checks import check_territory

    check_territory(territory, report)
