"""What a connector declares: settings, endpoint parameters, endpoints and jobs.

These are plain frozen records, so the framework can validate configuration, convert
parameters, generate documentation and OpenAPI from them without running any
connector code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class Setting:
    """A configuration value a connector needs.

    ``variability`` says who may set it: ``instance`` values differ per instance and
    are free; ``shared`` values belong to the common project (setting one per instance
    is a declared, costed override); ``fixed`` values must never differ per instance.
    ``secret`` settings only accept references (``{ env = … }`` / ``{ file = … }``).
    """

    type: type = str
    default: Any = REQUIRED
    description: str = ""
    secret: bool = False
    variability: Variability = "shared"
    choices: tuple[Any, ...] | None = None
    name: str = ""

    def __set_name__(self, owner: object, name: str) -> None:
        if not self.name:
            object.__setattr__(self, "name", name)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type.__name__)


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

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type.__name__)


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
    settings: Mapping[str, Setting]
    endpoints: Mapping[str, EndpointSpec]
    jobs: Mapping[str, JobSpec]
    extensions: tuple[str, ...] = field(default=())
    module: str = ""
