"""The immutable model ``instances.toml`` loads into.

Every effective setting of a binding (instance × profile) knows where it came from:
the connector's default, the profile, or the instance — with file and line — and what
it shadows.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from framework.access import AccessRule
from framework.config.files import read_bounded
from framework.config.lines import LineIndex
from framework.config.paths import resolve_path
from framework.declarations import ConnectorInfo, EndpointSpec, JobSpec
from framework.errors import FileRefused, Unavailable

if TYPE_CHECKING:
    from framework.overrides import OverrideBuilder

Layer = Literal["default", "profile", "instance"]
#: ``scheme://userinfo@`` in a setting's value: userinfo is a credential (user:password, a token).
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^\s/@'\"<>]*)@", re.IGNORECASE)


def hide_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it shown as ``***``
    (a bare ``scheme://token@`` too): what ``explain`` and ``check`` may print of a URL setting."""
    def hidden(m: re.Match[str]) -> str:
        user, colon, _ = m.group(2).partition(":")
        return f"{m.group(1)}{user}:***@" if colon else f"{m.group(1)}***@"
    return _USERINFO.sub(hidden, text)


def url_credentials(value: str) -> Iterator[str]:
    """The credential forms a URL's ``user:password@`` travels in: the password as written and
    decoded, and the base64 of ``user:password`` (an HTTP basic header a server may echo back)."""
    from urllib.parse import unquote

    for m in _USERINFO.finditer(value):
        user, colon, password = m.group(2).partition(":")
        secret = password if colon else user
        yield from (secret, unquote(secret))
        pair = f"{unquote(user)}:{unquote(password)}" if colon else unquote(user)
        yield base64.b64encode(pair.encode("latin-1", errors="replace")).decode("ascii")


MAX_SECRET_BYTES = 64 * 1024  # a key, a password, a PEM certificate chain: never more


@dataclass(frozen=True)
class SecretRef:
    """A secret by reference: ``{ env = "NAME" }`` or ``{ file = "/path" }``.

    ``repr`` and ``str`` never show the value; only :meth:`resolve` reads it.
    """

    kind: Literal["env", "file"]
    ref: str
    base_dir: str = ""

    def resolve(self) -> str:
        if self.kind == "env":
            value = os.environ.get(self.ref)
            if value is None:
                raise Unavailable(
                    f"secret environment variable {self.ref} is not set",
                    hint=f"export {self.ref}=… in the service's environment",
                )
            return value
        path = Path(resolve_path(self.base_dir, self.ref))
        try:
            # A FIFO, a device or a huge file is refused (FileRefused), never waited on.
            raw = read_bounded(path, MAX_SECRET_BYTES, f"secret file {self.ref!r}",
                               hint="point it at a regular file holding the secret, one line of text")
        except OSError as exc:
            # The file as written in instances.toml: a caller never learns a server path.
            raise Unavailable(
                f"secret file {self.ref!r} cannot be read ({exc.strerror})",
                hint="create it, readable by the service's user only",
            ) from None
        try:
            return raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            # Never echo the bytes: they are (part of) the secret.
            raise FileRefused(f"secret file {self.ref!r} is not UTF-8 text",
                              hint="write the secret as one line of UTF-8 text") from None

    def available(self) -> bool:
        try:
            self.resolve()
        except Unavailable:
            return False
        return True

    def __str__(self) -> str:
        return f"<secret {self.kind}:{self.ref}>"


@dataclass(frozen=True)
class Source:
    layer: Layer
    file: str
    line: int | None

    def __str__(self) -> str:
        if self.layer == "default":
            return "connector default"
        return f"{self.layer} ({self.file}:{self.line})" if self.line else self.layer


@dataclass(frozen=True)
class EffectiveSetting:
    name: str
    value: Any
    source: Source
    shadows: tuple[tuple[Source, Any], ...] = ()
    secret: bool = False
    variability: str = "shared"

    def shown(self, value: Any | None = None) -> str:
        """The value as it may be printed: secrets show their reference only."""
        value = self.value if value is None else value
        return str(value) if isinstance(value, SecretRef) else hide_url_credentials(repr(value))


@dataclass(frozen=True)
class Cost:
    setup_days: float = 0.0
    yearly_days: float = 0.0


@dataclass(frozen=True)
class CostModel:
    day_rate_eur: float = 0.0
    split: Literal["equal", "population", "weights"] = "equal"
    floor_eur: float = 0.0
    platform: Cost = Cost()


@dataclass(frozen=True)
class Profile:
    name: str
    connector: str
    description: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    cost: Cost = Cost()
    jobs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    access: Mapping[str, AccessRule] = field(default_factory=dict)  # endpoint → rule


@dataclass(frozen=True)
class SignatureAuth:
    orig: str
    secret: SecretRef
    algos: tuple[str, ...] = ("sha256", "sha512")
    nonce_required: bool = True


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: SecretRef


@dataclass(frozen=True)
class Client:
    name: str
    instance: str
    apikey: SecretRef | None = None
    basic: BasicAuth | None = None
    signature: SignatureAuth | None = None
    permissions: tuple[str, ...] = ()
    error_status: str | None = None  # "passerelle" | "http"; None: the [gateway] default

    @property
    def id(self) -> str:
        return f"{self.instance}.{self.name}"


@dataclass(frozen=True)
class OverrideDecl:
    instance: str
    profile: str
    reason: str
    owner: str = ""
    review_by: dt.date | None = None
    plugin: str | None = None
    setup_days: float = 0.0
    yearly_days: float = 0.0
    settings: tuple[str, ...] = ()  # the shared settings it sets (filled by the loader)
    access: tuple[str, ...] = ()  # the endpoints whose access it loosens (filled by the loader)
    club: str | None = None  # declared once for a club of instances ([clubs.<name>])
    members: tuple[str, ...] = ()  # the club's members (empty for an instance's own override)

    @property
    def id(self) -> str:
        return f"{self.instance}/{self.profile}"

    @property
    def ledger_id(self) -> str:
        """One line of the ledger: ``club:<name>`` for a club, else ``instance/profile``."""
        return f"club:{self.club}" if self.club else self.id


@dataclass(frozen=True)
class Club:
    """One override declared once for several instances that want the same specific
    (« déclinaisons … possibles en autonomie avec un financement club »). Its cost is
    split among its members: by ``shares`` when given, else by the territory's split."""

    name: str
    title: str
    profile: str
    members: tuple[str, ...]
    reason: str
    owner: str = ""
    review_by: dt.date | None = None
    plugin: str | None = None
    setup_days: float = 0.0
    yearly_days: float = 0.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    shares: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    name: str
    title: str
    kind: str = "commune"
    insee: tuple[str, ...] = ()
    population: int = 0
    weight: float = 1.0
    identity: Mapping[str, str] = field(default_factory=dict)
    hosted_by: str | None = None
    profiles: tuple[str, ...] = ()
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    clients: Mapping[str, Client] = field(default_factory=dict)
    overrides: Mapping[str, OverrideDecl] = field(default_factory=dict)
    grants: tuple[str, ...] = ()  # "<instance>.<client>" of other instances allowed here
    access: Mapping[str, Mapping[str, AccessRule]] = field(default_factory=dict)  # profile → endpoint → rule

    @property
    def own_deployment(self) -> bool:
        """An instance not hosted by another runs (and pays for) its own platform."""
        return self.hosted_by is None


@dataclass(frozen=True)
class Binding:
    """An instance × profile, with its effective settings."""

    instance: Instance
    profile: Profile
    connector: ConnectorInfo
    settings: Mapping[str, EffectiveSetting]
    override: OverrideDecl | None = None
    #: The override module's result, applied once at load (framework.overrides).
    applied: OverrideBuilder | None = None

    @property
    def id(self) -> str:
        return f"{self.instance.name}/{self.profile.name}"

    @property
    def endpoints(self) -> Mapping[str, EndpointSpec]:
        """What this binding serves: the connector's endpoints as its override left them."""
        return self.applied.endpoints if self.applied is not None else self.connector.endpoints

    @property
    def jobs(self) -> Mapping[str, JobSpec]:
        return self.applied.jobs if self.applied is not None else self.connector.jobs

    def value(self, name: str) -> Any:
        return self.settings[name].value

    def secret_values(self) -> tuple[str, ...]:
        """The values of this binding's secret settings that resolve now (an unset one
        cannot leak) and the credentials of URLs in its settings (:func:`url_credentials`),
        longest first, for masking; very short values are left out (masking "a"
        everywhere would destroy the text, not protect anything)."""
        values: set[str] = set()
        for eff in self.settings.values():
            if isinstance(eff.value, str) and "@" in eff.value:
                values.update(v for v in url_credentials(eff.value) if len(v) >= 4)
            elif isinstance(eff.value, SecretRef):
                try:
                    value = eff.value.resolve()
                except Unavailable:
                    continue
                if len(value) >= 4:
                    values.add(value)
        return tuple(sorted(values, key=len, reverse=True))

    def setting_path(self, name: str) -> tuple[str, ...]:
        """Where the effective value of ``name`` is written in instances.toml (for a
        finding's file:line): the instance's table, the profile's, or the profile itself
        when the value is the connector's default."""
        layer = self.settings[name].source.layer if name in self.settings else "default"
        if layer == "instance":
            return ("instances", self.instance.name, "settings", self.profile.name, name)
        if layer == "profile":
            return ("profiles", self.profile.name, "settings", name)
        return ("profiles", self.profile.name)


@dataclass(frozen=True)
class GatewayConfig:
    # A w.c.s. form posted with post_formdata carries its attachments in base64: a few
    # scanned documents are tens of MiB.
    max_body_bytes: int = 64 * 1_048_576
    signature_window_seconds: int = 30
    public_url: str = ""
    error_status: str = "passerelle"  # connector-level errors: HTTP 200 + err 1 (or "http")


@dataclass(frozen=True)
class Territory:
    """The whole of ``instances.toml``, validated."""

    name: str
    file: str
    triage: str | None
    costs: CostModel
    profiles: Mapping[str, Profile]
    instances: Mapping[str, Instance]
    bindings: Mapping[tuple[str, str], Binding]
    storage_url: str | None = None
    gateway: GatewayConfig = GatewayConfig()
    runtime: Mapping[str, Any] = field(default_factory=dict)
    lines: LineIndex | None = None
    clubs: Mapping[str, Club] = field(default_factory=dict)

    @functools.cached_property
    def base_dir(self) -> str:
        # Resolved once (a few system calls each time, asked once per binding at scale);
        # cached_property writes the instance's __dict__, which a frozen dataclass allows.
        return str(Path(self.file).resolve().parent)

    def binding(self, instance: str, profile: str) -> Binding:
        return self.bindings[(instance, profile)]

    def identity(self, instance: str) -> dict[str, str]:
        """The instance's identity (logo, colours, contact…); a hosted instance inherits
        what it does not set from its host, and so on up (the multi-communal instance's,
        then the metropolis' logo and colours)."""
        chain: list[Instance] = []
        current = self.instances.get(instance)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.instances.get(current.hosted_by) if current.hosted_by else None
        merged: dict[str, str] = {}
        for link in reversed(chain):
            merged.update(link.identity)
        return merged

    def bindings_of(self, instance: str) -> Iterator[Binding]:
        for (inst, _), binding in self.bindings.items():
            if inst == instance:
                yield binding

    def overrides(self) -> Iterator[OverrideDecl]:
        for inst in self.instances.values():
            yield from inst.overrides.values()

    def line(self, *path: str) -> int | None:
        return self.lines.line(path) if self.lines else None

