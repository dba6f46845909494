"""What a connector declares: settings, endpoint parameters, endpoints and jobs.

These are plain frozen records, so the framework can validate configuration, convert
parameters, generate documentation and OpenAPI from them without running any
connector code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, overload

Variability = Literal["instance", "shared", "fixed"]
VARIABILITIES: tuple[str, ...] = ("instance", "shared", "fixed")


class _Required:
    """Sentinel: a setting or parameter without a default must be given."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __bool__(self) -> bool:
        return False


REQUIRED: Any = _Required()

#: Types a setting or parameter may declare, by the name used in docs and errors.
TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "list",
    dict: "table",
}


T = TypeVar("T")
PathKind = Literal["file", "dir"]

#: Integers a parameter takes when it declares no bounds: signed 64 bits, what every
#: database and JSON consumer downstream can hold (a larger one is a 400, never a 500).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class Setting(Generic[T]):
    """A configuration value a connector (or a framework section) declares.

    On a connector class it is a descriptor: ``self.limit`` on a connector object is
    the binding's effective value, typed ``T`` (``self.settings.limit`` is the same
    value). Constraints are declared here and checked once, by the configuration
    walker, at the line where the value is written:

    - ``min`` / ``max`` (inclusive) for numbers, ``choices`` for any type;
    - ``pattern``: a regular expression a string (or each item of a list) must match;
    - ``path``: ``"file"`` (must exist at ``check``) or ``"dir"``; a relative path is
      relative to ``instances.toml`` and the connector reads it resolved;
    - ``url``: an http(s) URL with a host; ``https`` only unless ``allow_http``
      (loopback addresses may always use http: that traffic never leaves the host).

    ``variability`` says who may set it: ``instance`` values differ per instance and
    are free; ``shared`` values belong to the common project (setting one per instance
    is a declared, costed override); ``fixed`` values must never differ per instance.
    ``secret`` settings only accept references (``{ env = … }`` / ``{ file = … }``).
    """

    def __init__(
        self,
        type: type[T],
        default: Any = REQUIRED,
        description: str = "",
        *,
        secret: bool = False,
        variability: Variability = "shared",
        choices: tuple[Any, ...] | None = None,
        name: str = "",
        min: float | None = None,
        max: float | None = None,
        pattern: str | None = None,
        path: PathKind | None = None,
        url: bool = False,
        allow_http: bool = False,
    ) -> None:
        self.type = type
        self.default = default
        self.description = description
        self.secret = secret
        self.variability = variability
        self.choices = choices
        self.name = name
        self.min = min
        self.max = max
        self.pattern = pattern
        self.path = path
        self.url = url
        self.allow_http = allow_http

    def __set_name__(self, owner: object, name: str) -> None:
        if not self.name:
            self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Setting[T] | T:
        if obj is None:
            return self
        value: T = obj.settings[self.name]  # type: ignore[attr-defined]
        return value

    def __repr__(self) -> str:
        return f"Setting({self.type_name}, {self.default!r}, name={self.name!r})"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type.__name__)

    def constraints(self) -> str:
        """The declared constraints in words (docs and hints)."""
        parts = []
        if self.min is not None and self.max is not None:
            parts.append(f"{_num(self.min)} to {_num(self.max)}")
        elif self.min is not None:
            parts.append(f"at least {_num(self.min)}")
        elif self.max is not None:
            parts.append(f"at most {_num(self.max)}")
        if self.choices is not None:
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.pattern is not None:
            parts.append(f"matching `{self.pattern}`")
        if self.path is not None:
            parts.append(f"a {self.path} path, relative to instances.toml")
        if self.url:
            parts.append("an http(s) URL" if self.allow_http else "an https URL")
        return "; ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Param:
    """One query parameter of an endpoint, converted to ``type`` before the call."""

    name: str
    type: type = str
    description: str = ""
    example: Any = None
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] | None = None
    min: float | None = None  # inclusive bounds of an int or float parameter
    max: float | None = None

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type.__name__)

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """Declared bounds; an integer without them is kept within signed 64 bits."""
        if self.type is int:
            return (INT_MIN if self.min is None else self.min, INT_MAX if self.max is None else self.max)
        return self.min, self.max


@dataclass(frozen=True)
class EndpointSpec:
    """An endpoint as declared with :func:`framework.endpoint`."""

    name: str
    func: Callable[..., Any]
    methods: tuple[str, ...] = ("GET",)
    description: str = ""
    params: tuple[Param, ...] = ()
    body_schema: Mapping[str, Any] | None = None
    body_example: Any = None
    permission: str = ""  # required by endpoint(): "open" or a permission name
    cache_seconds: int = 0
    pattern: str | None = None
    datasource: bool = False
    override: str | None = None  # id of the override that provides it, if any
    # JSON schema of the answer when the endpoint returns framework.Unwrapped (no envelope).
    unwrapped_schema: Mapping[str, Any] | None = None
    open_reason: str | None = None  # why an open endpoint may have side effects

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def path_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern) if self.pattern else None

    def example_query(self) -> dict[str, Any]:
        """Parameters with examples: what docs show and smoke tests call with."""
        return {p.name: p.example for p in self.params if p.example is not None}


@dataclass(frozen=True)
class JobSpec:
    """A job: ``schedule`` is ``"every 5m"``, ``"hourly"``, ``"daily"`` or cron, or ``None``
    for a job that runs only when an endpoint queues it (a push to the business server)."""

    name: str
    func: Callable[..., Any]
    schedule: str | None = "daily"
    description: str = ""
    override: str | None = None


@dataclass(frozen=True)
class ConnectorInfo:
    """Everything the framework knows about a connector class, read from its body."""

    id: str
    cls: type
    title: str
    description: str
    settings: Mapping[str, Setting[Any]]
    endpoints: Mapping[str, EndpointSpec]
    jobs: Mapping[str, JobSpec]
    extensions: tuple[str, ...] = field(default=())
    module: str = ""
