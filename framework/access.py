"""Who may call an endpoint: the connector's declaration, then the admin's rules.

The effective access of an endpoint on a binding is the connector's declaration
(``endpoint(permission=…, open_reason=…)``), changed key by key by the profile's rule
(``[profiles.<p>.access.<endpoint>]``, the common project), then by the instance's
rule (``[instances.<i>.access.<p>.<endpoint>]``). An access has a ``permission``
(``open`` or a name the caller's client must hold) and optionally the only
``clients`` that may call it. It is *open* when its permission is ``open`` and no
client list restricts it: then anyone is served, anonymous or presenting valid
credentials of any client known to the gateway (credentials never give less than
none). Otherwise the caller must be a client of the instance (or granted by it),
be listed when a client list is set, and hold the permission.

:func:`refusal` is the one rule; :meth:`framework.app.Raccord.invoke` applies it on
every path (gateway, ``raccord call``, the test kit), and the loader uses it to find
where an instance loosens the common project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from framework.errors import Forbidden, PluginError, RaccordError, Unauthorized

if TYPE_CHECKING:
    from framework.config.model import Binding, Client, Instance
    from framework.declarations import EndpointSpec

OPEN = "open"
#: Permissions the framework itself requires (not an endpoint's): ``can_admin`` opens
#: the status page, ``/_status/`` (framework/gateway/status_page.py).
FRAMEWORK_PERMISSIONS = frozenset({"can_admin"})
SIDE_EFFECT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_AUTHENTICATE = "authenticate (Publik signature, X-API-Key header or HTTP basic)"


@dataclass(frozen=True)
class AccessRule:
    """One ``access`` table of instances.toml: each key left out is inherited."""

    permission: str | None = None
    clients: tuple[str, ...] | None = None
    open_reason: str | None = None


@dataclass(frozen=True)
class Access:
    """The access of one endpoint on one binding, and the layer that last set it."""

    permission: str
    clients: frozenset[str] | None = None
    open_reason: str | None = None
    source: str = "connector"  # "connector" | "profile" | "instance"

    @property
    def open(self) -> bool:
        """Anyone may call it, without credentials."""
        return self.permission == OPEN and self.clients is None

    def then(self, rule: AccessRule | None, source: str) -> Access:
        """This access with ``rule``'s keys applied on top."""
        if rule is None:
            return self
        return Access(
            permission=rule.permission if rule.permission is not None else self.permission,
            clients=frozenset(rule.clients) if rule.clients is not None else self.clients,
            open_reason=rule.open_reason if rule.open_reason is not None else self.open_reason,
            source=source,
        )

    def describe(self) -> str:
        """``open``, ``permission can_pay``, ``clients metz.wcs`` — for docs and check."""
        parts = [] if self.permission == OPEN else [f"permission {self.permission}"]
        if self.clients is not None:
            parts.append(f"clients {', '.join(sorted(self.clients)) or '(none)'}")
        return " + ".join(parts) or OPEN


# -- callers -------------------------------------------------------------------------

def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its client and, for signed queries, the acting user.

    ``admit`` runs once the call is allowed, before the endpoint does anything: the
    gateway consumes a signature's nonce there, so that a refused call never burns it.
    """

    client: Client
    method: str  # "signature" | "apikey" | "basic" | "as" (raccord call --as)
    user: Mapping[str, str] | None = None
    admit: Callable[[], None] = field(default=_nothing, compare=False, repr=False)


class Administrator:
    """The operator at the shell (``raccord call`` without ``--as``): every permission."""

    def __repr__(self) -> str:
        return "ADMINISTRATOR"


ADMINISTRATOR = Administrator()
#: Who calls: a client, the administrator, or ``None`` for the anonymous caller.
Caller = Principal | Administrator | None


def reaches(client: Client, instance: Instance) -> bool:
    """Isolation: a client may use its own instance and those that grant it."""
    return client.instance == instance.name or client.id in instance.grants


def refusal(caller: Caller, access: Access, instance: Instance, what: str) -> RaccordError | None:
    """Why ``caller`` may not call ``what`` (an error to raise), or None if it may."""
    if isinstance(caller, Administrator) or access.open:
        return None
    need = f"permission {access.permission!r}" if access.permission != OPEN else "an authorised client"
    if caller is None:
        return Unauthorized(f"{what} needs {need}: {_AUTHENTICATE}")
    client = caller.client
    if not reaches(client, instance):
        return Forbidden(f"client {client.id} is not allowed on instance {instance.name!r}",
                         hint=f"instance {instance.name!r} must grant it: grants = [\"{client.id}\"]")
    if access.clients is not None and client.id not in access.clients:
        return Forbidden(f"client {client.id} is not among the clients allowed to call {what}",
                         hint=f"the access rule of {what} lists: {', '.join(sorted(access.clients)) or 'none'}")
    if access.permission != OPEN and access.permission not in client.permissions:
        return Forbidden(f"client {client.id} lacks permission {access.permission!r} for {what}",
                         hint=f"add it to the client's permissions = [\"{access.permission}\"]")
    return None


def authorize(caller: Caller, access: Access, instance: Instance, what: str) -> None:
    """Raise the refusal of :func:`refusal`, if any."""
    error = refusal(caller, access, instance, what)
    if error is not None:
        raise error


# -- declarations and layers ---------------------------------------------------------

def declared(spec: EndpointSpec) -> Access:
    return Access(spec.permission, None, spec.open_reason, "connector")


def common_access(binding: Binding, spec: EndpointSpec) -> Access:
    """The common project's access: the declaration and the profile's rule."""
    return declared(spec).then(binding.profile.access.get(spec.name), "profile")


def effective_access(binding: Binding, spec: EndpointSpec) -> Access:
    """What the call path enforces: the common access and the instance's rule."""
    rule = binding.instance.access.get(binding.profile.name, {}).get(spec.name)
    return common_access(binding, spec).then(rule, "instance")


def side_effects(spec: EndpointSpec) -> bool:
    return any(m in SIDE_EFFECT_METHODS for m in spec.methods)


def open_problem(spec: EndpointSpec, access: Access) -> str | None:
    """An access that opens side effects to anyone needs a reason: the message if it has none."""
    if access.open and side_effects(spec) and not (access.open_reason or "").strip():
        methods = "/".join(m for m in spec.methods if m in SIDE_EFFECT_METHODS)
        return (f"endpoint {spec.name!r} has side effects ({methods}) and is open to anyone "
                "without a reason")
    return None


def verify_declaration(spec: EndpointSpec, where: str) -> None:
    """The access rules of a declaration, checked at registration (shipped or override)."""
    if not isinstance(spec.permission, str) or not spec.permission.strip():
        raise PluginError(f"{where}: endpoint {spec.name!r} needs an explicit permission: "
                          'permission="open" (anyone) or a name such as "can_access"')
    if spec.open_reason is not None and spec.permission != OPEN:
        raise PluginError(f"{where}: endpoint {spec.name!r} has open_reason but permission "
                          f"{spec.permission!r}: open_reason is only for open endpoints")
    problem = open_problem(spec, declared(spec))
    if problem is not None:
        raise PluginError(f"{where}: {problem}: give open_reason=\"…\" (e.g. a payment "
                          "notification webhook) or a permission such as \"can_access\"")


def loosened(common: Access, own: Access, instance: Instance, clients: Iterable[Client]) -> list[str]:
    """Callers the instance's access admits and the common project's refuses:
    ``anonymous`` and client ids (the instance loosens access for them)."""
    what = "endpoint"
    found = []
    if refusal(None, own, instance, what) is None and refusal(None, common, instance, what) is not None:
        found.append("anonymous")
    for client in clients:
        caller = Principal(client, "as")
        if refusal(caller, own, instance, what) is None and refusal(caller, common, instance, what) is not None:
            found.append(client.id)
    return found
