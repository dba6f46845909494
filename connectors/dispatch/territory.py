"""Who is responsible for what, read from the loaded territory (no I/O).

- A **commune** is an INSEE code of an instance of kind ``commune``; its instance is
  the one listing that code (its own instance, or a hosted one such as Amanvillers,
  served by the instance it is ``hosted_by``).
- The **competence matrix** (the dispatch profile's ``competences``) maps a category
  to ``"commune"`` (the commune's instance), ``"triage"`` (the territory's triage
  instance) or an instance's name (the metropolis, a syndicate…). A commune's
  exceptions are the ``competences`` of its inbox binding: a shared setting, so a
  per-instance value is a declared override — flagged and costed like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from framework import Connector

if TYPE_CHECKING:
    from framework import Binding, Instance, RequestStore, Territory

COMMUNE, TRIAGE = "commune", "triage"
KEYWORDS = (COMMUNE, TRIAGE)
DISPATCH_ID, INBOX_ID = "dispatch", "dispatch_inbox"
DEFAULT = "*"  # the key of first_recipients that applies to every other category


@dataclass(frozen=True)
class Responsible:
    """The entity a request goes to."""

    instance: Instance
    rule: str  # "matrix" | "exception"
    served_by: str  # the instance whose back office serves it (itself, or its host)

    def public(self, territory: Territory, commune: str | None) -> dict[str, Any]:
        inst = self.instance
        inbox = inbox_binding(territory, inst.name)
        return {"instance": inst.name, "name": inst.title, "kind": inst.kind,
                "identity": territory.identity(inst.name), "served_by": self.served_by, "rule": self.rule,
                "commune": commune,
                "inbox": f"/{inst.name}/{inbox.profile.name}/inbox" if inbox else None}


def communes(territory: Territory) -> dict[str, Instance]:
    """INSEE code → the commune's instance."""
    found: dict[str, Instance] = {}
    for inst in territory.instances.values():
        if inst.kind == "commune":
            for code in inst.insee:
                found.setdefault(code, inst)
    return found


def identity(territory: Territory, inst: Instance) -> dict[str, str]:
    """The instance's identity; a hosted instance inherits what it does not set from
    its host (the multi-communal instance's logo and colours)."""
    return territory.identity(inst.name)


def served_by(territory: Territory, inst: Instance) -> str:
    return inst.hosted_by or inst.name


def inbox_binding(territory: Territory, instance: str) -> Binding | None:
    return next((b for b in territory.bindings_of(instance) if b.connector.id == INBOX_ID), None)


def inbox_bindings(territory: Territory) -> Iterator[Binding]:
    return (b for b in territory.bindings.values() if b.connector.id == INBOX_ID)


def exceptions(territory: Territory, instance: str) -> Mapping[str, str]:
    binding = inbox_binding(territory, instance)
    if binding is None or "competences" not in binding.settings:
        return {}
    value: Mapping[str, str] = binding.value("competences")
    return value


def responsible(territory: Territory, matrix: Mapping[str, str], category: str,
                commune: Instance) -> Responsible | None:
    """Who handles ``category`` in ``commune``; None for a category nobody declared."""
    own = exceptions(territory, commune.name)
    rule = "exception" if category in own else "matrix"
    target = own.get(category, matrix.get(category))
    if target is None:
        return None
    if target == COMMUNE:
        inst: Instance | None = commune
    elif target == TRIAGE:
        inst = territory.instances.get(territory.triage or "")
    else:
        inst = territory.instances.get(target)
    if inst is None:  # `raccord check` reports it; a request is never lost for it
        return None
    return Responsible(inst, rule, served_by(territory, inst))


def triage_queue(territory: Territory, first_recipients: Mapping[str, str], category: str,
                 default: str) -> str:
    """The instance whose agents triage requests of ``category`` by hand."""
    return first_recipients.get(category) or first_recipients.get(DEFAULT) or territory.triage or default


def dispatch_binding(territory: Territory, instance: str) -> Binding | None:
    return next((b for b in territory.bindings_of(instance) if b.connector.id == DISPATCH_ID), None)


class TerritoryConnector(Connector):
    """Base of both connectors: the territory they route in and the shared requests."""

    @property
    def territory(self) -> Territory:
        assert self.ctx.territory is not None, f"{self.id} needs the territory (built by Raccord)"
        return self.ctx.territory

    @property
    def requests(self) -> RequestStore:
        from framework import RequestStore  # SQLAlchemy: when used, not at `raccord check`

        return RequestStore(self.store.db)
