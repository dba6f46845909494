"""The connector API: a base class and three decorators.

A connector is written once and bound to many instances. It declares its settings as
class attributes (:class:`~framework.declarations.Setting`), its endpoints with
:func:`endpoint`, its periodic jobs with :func:`job`, the methods an instance's
override may replace with :func:`extension`, and optionally a ``health_check``.

Endpoint methods take one argument, a :class:`Call` (converted parameters, body,
path, acting user); they return JSON-serialisable data, which the framework wraps in
the ``{"err": 0, "data": …}`` envelope. Job methods take a :class:`JobRun`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from framework.declarations import ConnectorInfo, EndpointSpec, JobSpec, Param, Setting

if TYPE_CHECKING:
    from framework.context import BindingContext

F = TypeVar("F", bound=Callable[..., Any])

_ENDPOINT_ATTR = "_raccord_endpoint"
_JOB_ATTR = "_raccord_job"
_EXTENSION_ATTR = "_raccord_extension"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Call:
    """One call of an endpoint, as the connector sees it."""

    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    path: str = ""
    path_args: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"
    user: Mapping[str, str] | None = None  # {"email": …, "name_id": …} from a signed query
    client: str | None = None


class JobRun:
    """Handed to a job: its payload, its queue id and attempt (None/1 when run by
    ``raccord sync``), and a way to report progress."""

    def __init__(
        self,
        payload: Mapping[str, Any] | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        job_id: int | None = None,
        attempt: int = 1,
    ) -> None:
        self.payload: Mapping[str, Any] = payload or {}
        # A queued job runs at least once: a push derives its Idempotency-Key from the
        # job id so that the business server can drop a second delivery.
        self.job_id = job_id
        self.attempt = attempt
        self._progress = progress
        self.done = 0
        self.total: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        """A stable key for this job's side effects (``None`` outside the queue)."""
        return None if self.job_id is None else f"raccord-job-{self.job_id}"

    def advance(self, step: int = 1, total: int | None = None) -> None:
        """Record progress: ``step`` more items done out of ``total`` (if known)."""
        self.done += step
        if total is not None:
            self.total = total
        if self._progress is not None:
            self._progress(self.done, self.total)


def endpoint(
    *,
    permission: str,
    methods: Iterable[str] = ("GET",),
    description: str = "",
    params: Iterable[Param] = (),
    body_schema: Mapping[str, Any] | None = None,
    body_example: Any = None,
    cache_seconds: int = 0,
    pattern: str | None = None,
    datasource: bool = False,
    name: str | None = None,
    unwrapped_schema: Mapping[str, Any] | None = None,
    open_reason: str | None = None,
) -> Callable[[F], F]:
    """Declare a method as an endpoint served at ``/<instance>/<profile>/<name>``.

    ``permission`` is required: ``"open"`` (anyone may call, an explicit and visible
    choice) or a permission name that the instance gives to some of its clients
    (``"can_access"``, Passerelle's usual name). A method with side effects (POST,
    PUT, PATCH, DELETE) may be ``open`` only with ``open_reason="…"`` (a payment
    notification webhook, say); the admin can change any endpoint's access in
    instances.toml (docs/gateway.md, "Access"). ``pattern`` is a regular expression the
    rest of the path after the endpoint name must match; its named groups reach the
    method as ``call.path_args``. ``datasource=True`` marks a w.c.s. data source
    (items ``{"id", "text"}`` filtered by ``q`` and ``id``). ``unwrapped_schema`` is the
    JSON schema of what the method answers when it returns :class:`Unwrapped` (shown in
    OpenAPI beside the envelope).
    """

    def mark(func: F) -> F:
        upper = tuple(m.upper() for m in methods)
        bad = [m for m in upper if m not in HTTP_METHODS]
        if bad:
            raise ValueError(f"endpoint {func.__qualname__}: unknown HTTP method(s) {bad}")
        spec = EndpointSpec(
            name=name or func.__name__,
            func=func,
            methods=upper,
            description=description or inspect.getdoc(func) or "",
            params=tuple(params),
            body_schema=body_schema,
            body_example=body_example,
            permission=permission,
            cache_seconds=cache_seconds,
            pattern=pattern,
            datasource=datasource,
            unwrapped_schema=unwrapped_schema,
            open_reason=open_reason,
        )
        setattr(func, _ENDPOINT_ATTR, spec)
        return func

    return mark


def job(*, schedule: str | None = "daily", description: str = "", name: str | None = None) -> Callable[[F], F]:
    """Declare a method as a job with a default ``schedule`` (``"every 6h"``, ``"daily"``,
    cron…); ``schedule=None`` declares a job that only runs when queued
    (``ctx.queue.enqueue(name, payload, idempotency_key=…)``), never on a timer — unless
    a profile gives it a schedule in ``[profiles.<p>.jobs.<name>]``."""

    def mark(func: F) -> F:
        spec = JobSpec(
            name=name or func.__name__,
            func=func,
            schedule=schedule,
            description=description or inspect.getdoc(func) or "",
        )
        setattr(func, _JOB_ATTR, spec)
        return func

    return mark


def extension(func: F) -> F:
    """Mark a method an instance's override may replace (a mapping, a formatter…)."""
    setattr(func, _EXTENSION_ATTR, True)
    return func


class Connector:
    """Base class of every connector.

    Subclasses set ``id`` (stable, used in ``instances.toml``) and ``title``, and declare
    settings, endpoints and jobs. One object is built per binding (instance × profile)
    and may serve concurrent calls: keep per-call state in locals, not on ``self``.
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""

    # Settings every connector has: the outbound call policy of its binding.
    connect_timeout = Setting(float, 5.0, "seconds to wait for the business server to accept a connection")
    read_timeout = Setting(float, 30.0, "seconds to wait for the business server's answer")
    total_timeout = Setting(float, 30.0, "seconds for a whole outbound call: connection, headers and every "
                            "byte of the answer, retries included", variability="instance")
    max_answer_bytes = Setting(int, 10 * 1024 * 1024, "largest answer read from the business server, in "
                               "bytes (a larger one is a 502)", variability="instance")
    max_concurrency = Setting(int, 0, "calls of this binding running at once in one gateway process "
                              "(its bulkhead); 0: half the gateway's threads", variability="instance")
    ca_bundle = Setting(str, "", "path of a CA bundle for a server with a private certificate authority "
                        "(TLS verification stays on)", variability="instance")
    # Retries and circuit breaker (framework/outbound): per instance, since town-hall
    # servers differ in how slow and flaky they are.
    retries = Setting(int, 2, "retries of an idempotent call on connection errors, 429, 502, 503, 504",
                      variability="instance")
    retry_backoff = Setting(float, 0.5, "first retry delay in seconds (doubles each retry, with jitter)",
                            variability="instance")
    retry_after_max = Setting(float, 10.0, "longest Retry-After (seconds) honoured; a longer one fails "
                              "the call at once", variability="instance")
    breaker_threshold = Setting(int, 5, "consecutive failed calls that open the circuit breaker",
                                variability="instance")
    breaker_reset_seconds = Setting(float, 30.0, "seconds an open circuit waits before a probe call",
                                    variability="instance")
    proxy = Setting(str, "", "HTTP(S) proxy URL for the business server (environment proxies are "
                    "ignored)", variability="instance")

    def __init__(self, ctx: BindingContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.http = ctx.http
        self.store = ctx.store
        self.log = ctx.log

    def health_check(self) -> None:
        """Raise an :class:`~framework.errors.RaccordError` when the business server is down.

        The default does nothing: a connector without a health check is always "up"
        until its calls fail.
        """


def describe(cls: type[Connector]) -> ConnectorInfo:
    """Read a connector class's declarations into a :class:`ConnectorInfo`."""
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"{cls!r} is not a subclass of framework.Connector")
    settings: dict[str, Setting] = {}
    endpoints: dict[str, EndpointSpec] = {}
    jobs: dict[str, JobSpec] = {}
    extensions: list[str] = []
    # Walk the MRO from the base down so subclasses shadow what they redefine.
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Setting):
                settings[value.name or attr] = value
            elif callable(value):
                if (spec := getattr(value, _ENDPOINT_ATTR, None)) is not None:
                    endpoints[spec.name] = spec
                if (jspec := getattr(value, _JOB_ATTR, None)) is not None:
                    jobs[jspec.name] = jspec
                if getattr(value, _EXTENSION_ATTR, False) and attr not in extensions:
                    extensions.append(attr)
    doc = inspect.getdoc(cls) or ""
    return ConnectorInfo(
        id=cls.id,
        cls=cls,
        title=cls.title or cls.__name__,
        description=doc,
        settings=settings,
        endpoints=endpoints,
        jobs=jobs,
        extensions=tuple(extensions),
        module=cls.__module__,
    )


@dataclass(frozen=True)
class Accepted:
    """Return this from an endpoint that queued work: the gateway answers 202 with the
    job id and where to follow it (``GET /<instance>/<profile>/jobs/<id>``)."""

    job_id: int
    status: str = "queued"


@dataclass(frozen=True)
class Unwrapped:
    """Return this from an endpoint whose caller reads the data itself, not the
    ``{"err": 0, "data": …}`` envelope: w.c.s.'s geocoding reads a Nominatim answer (a
    bare list for search, one object for reverse). The gateway answers ``data`` as the
    JSON body; errors keep the envelope."""

    data: Any
