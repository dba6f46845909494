"""The runtime: a loaded territory, its connector objects, and how to call them.

``Raccord.open(config)`` is what every command and the gateway start from.
``invoke`` is the one path from "instance, profile, endpoint, raw parameters" to data;
the command line and the HTTP gateway both go through it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from framework import loading
from framework.access import ADMINISTRATOR, SIDE_EFFECT_METHODS, Access, Caller, Principal, authorize, effective_access
from framework.config.model import Binding, Territory
from framework.config.paths import resolve_path
from framework.config.report import did_you_mean
from framework.connector import Call, Connector
from framework.context import BindingContext, SettingsView, connector_values
from framework.declarations import EndpointSpec, JobSpec
from framework.errors import ConfigError, MethodNotAllowed, NotFound
from framework.journal import masked_errors
from framework.loading import check_config as check_config  # re-exported: where callers long found it
from framework.outbound.runtime import OutboundRuntime
from framework.overrides import OverrideBuilder
from framework.params import convert_params
from framework.registry import ConnectorRegistry
from framework.runtime.queue import JobQueue
from framework.storage import Database, default_url, open_database
from framework.storage.records import RecordStore
from framework.validation import validate_body

CONFIG_ENV = "RACCORD_CONFIG"
log = logging.getLogger("raccord")


@dataclass
class Bound:
    """A binding made live: its connector object and the endpoints and jobs it serves."""

    binding: Binding
    connector: Connector
    endpoints: Mapping[str, EndpointSpec]
    jobs: Mapping[str, JobSpec]
    override: OverrideBuilder | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    access: Mapping[str, Access] = field(default_factory=dict)  # endpoint → effective access


class Raccord:
    """A loaded territory made live: its bindings' connector objects, database and
    outbound runtime. ``Raccord.open(path)`` builds it; :meth:`invoke` calls an endpoint."""

    def __init__(self, territory: Territory, registry: ConnectorRegistry, db: Database,
                 pm: pluggy.PluginManager | None = None) -> None:
        self.territory = territory
        self.registry = registry
        self.db = db
        self.pm = pm
        self._bound: dict[tuple[str, str], Bound] = {}
        self._lock = threading.Lock()
        # Journal writer, availability and answer cache shared by every binding's client.
        self.outbound = OutboundRuntime(db, territory.runtime)

    @classmethod
    def open(cls, config: str | Path, *, database_url: str | None = None,
             pm: pluggy.PluginManager | None = None) -> Raccord:
        """Load ``config``; raise ConfigError listing every error if it is not valid."""
        pm = pm or loading.make_plugin_manager()
        territory, report, registry = check_config(str(config), pm)
        if territory is None or not report.ok:
            lines = "\n".join(str(f) for f in report.errors)
            raise ConfigError(f"{config} is not valid:\n{lines}", hint="run `raccord check`")
        url = database_url or _storage_url(territory)
        return cls(territory, registry, open_database(url), pm)

    # -- bindings ---------------------------------------------------------------------

    def binding(self, instance: str, profile: str) -> Binding:
        if instance not in self.territory.instances:
            raise NotFound(f"unknown instance {instance!r}",
                           hint=did_you_mean(instance, self.territory.instances))
        if (instance, profile) not in self.territory.bindings:
            used = ", ".join(self.territory.instances[instance].profiles) or "none"
            raise NotFound(f"instance {instance!r} has no profile {profile!r} (it has: {used})")
        return self.territory.binding(instance, profile)

    def bound(self, instance: str, profile: str) -> Bound:
        """The live connector of a binding, built once (thread-safe)."""
        key = (instance, profile)
        if (found := self._bound.get(key)) is not None:
            return found
        binding = self.binding(instance, profile)
        with self._lock:
            if key not in self._bound:
                self._bound[key] = self._build(binding)
        return self._bound[key]

    def _build(self, binding: Binding) -> Bound:
        values = connector_values(binding, self.territory.base_dir)
        settings = SettingsView(values)
        http = self.outbound.client(binding, values, self.territory.base_dir)
        ctx = BindingContext(
            binding=binding, settings=settings, http=http,
            store=RecordStore(self.db, binding.instance.name, binding.profile.name),
            log=logging.LoggerAdapter(log.getChild(binding.connector.id), {"binding": binding.id}),
            base_dir=self.territory.base_dir,
            queue=JobQueue(self.db, binding.instance.name, binding.profile.name,
                           max_attempts=int(self.territory.runtime.get("max_attempts", 5))),
            territory=self.territory,
            invoke=functools.partial(self._peer, binding.instance.name),
        )
        override = binding.applied  # applied once, at load
        obj = binding.connector.cls(ctx)
        endpoints, jobs = dict(binding.connector.endpoints), dict(binding.connector.jobs)
        if override is not None:
            endpoints, jobs = override.endpoints, override.jobs
            for name, func in override.extensions.items():
                setattr(obj, name, types.MethodType(func, obj))
        endpoints = _flag_override(binding, override, endpoints)
        self.outbound.add_health_job(binding, jobs)
        access = {name: effective_access(binding, spec) for name, spec in endpoints.items()}
        return Bound(binding, obj, endpoints, jobs, override, access=access)

    def endpoint(self, instance: str, profile: str, name: str) -> tuple[Bound, EndpointSpec]:
        bound = self.bound(instance, profile)
        spec = bound.endpoints.get(name)
        if spec is None:
            raise NotFound(f"{instance}/{profile} has no endpoint {name!r}",
                           hint=did_you_mean(name, bound.endpoints)
                           or f"its endpoints: {', '.join(sorted(bound.endpoints))}")
        return bound, spec

    # -- calling ----------------------------------------------------------------------

    def _peer(self, instance: str, profile: str, endpoint: str, params: Mapping[str, Any]) -> Any:
        return self.invoke(instance, profile, endpoint, params=params)

    def caller(self, client_id: str) -> Principal:
        """The client ``"<instance>.<client>"`` as a caller (``raccord call --as``, the test kit)."""
        inst_name, _, name = client_id.partition(".")
        inst = self.territory.instances.get(inst_name)
        client = inst.clients.get(name) if inst is not None else None
        if client is None:
            known = [c.id for i in self.territory.instances.values() for c in i.clients.values()]
            raise NotFound(f"unknown client {client_id!r}",
                           hint=did_you_mean(client_id, known) or 'write "<instance>.<client>", e.g. "metz.wcs"')
        return Principal(client, "as")

    def invoke(self, instance: str, profile: str, endpoint: str, *, method: str = "GET",
               params: Mapping[str, Any] | None = None, body: Any = None, path: str = "",
               user: Mapping[str, str] | None = None, client: str | None = None,
               caller: Caller = ADMINISTRATOR, read_body: Callable[[], Any] | None = None) -> Any:
        """Call an endpoint as ``caller``; return its data or raise a RaccordError.

        The one call path of the gateway, ``raccord call`` and the test kit: whatever
        one refuses, all refuse, with the same error, checked in this order: unknown
        endpoint (404), access (401/403), method (405), the body (``read_body``, the
        gateway's 413 and bad JSON), path (404), parameters and body schema (400).
        ``caller`` is a client (:class:`~framework.access.Principal`), ``None`` for the
        anonymous caller, or the administrator (the default: every permission).
        """
        bound, spec = self.endpoint(instance, profile, endpoint)
        authorize(caller, bound.access[spec.name], bound.binding.instance, f"{instance}/{profile}/{spec.name}")
        if method not in spec.methods:
            raise MethodNotAllowed(f"{endpoint} accepts {', '.join(spec.methods)}, not {method}",
                                   allowed=spec.methods)
        if read_body is not None:
            body = read_body()
        path_args = _match_path(spec, path)
        converted = convert_params(spec, params or {})
        if spec.body_schema is not None and method in SIDE_EFFECT_METHODS:
            validate_body(spec, body)
        if isinstance(caller, Principal):
            caller.admit()  # allowed and valid: only now may a signature's nonce be spent
            user = user if user is not None else caller.user
            client = client if client is not None else caller.client.id
        call = Call(params=converted, body=body, path=path,
                    path_args=path_args, method=method, user=user, client=client)
        if method == "GET" and spec.cache_seconds > 0:
            return self.outbound.cached(bound.binding, spec, call, lambda: _run(bound, spec, call))
        return _run(bound, spec, call)

    def close(self) -> None:
        for bound in self._bound.values():
            bound.connector.http.close()
        self.outbound.close()  # flushes the journal: before the engine goes
        self.db.dispose()


def _run(bound: Bound, spec: EndpointSpec, call: Call) -> Any:
    """The endpoint, within its binding's bulkhead (framework/outbound/bulkhead.py);
    its errors leave with URL credentials and the binding's secrets masked."""
    with bound.connector.http.bulkhead.slot(), masked_errors(bound.binding):
        return spec.func(bound.connector, call)


def _flag_override(binding: Binding, override: OverrideBuilder | None,
                   endpoints: Mapping[str, EndpointSpec]) -> dict[str, EndpointSpec]:
    """Mark the endpoints whose answers an override may change.

    A replaced or added endpoint is marked by the builder. A replaced extension or a
    per-instance value of a shared setting can change any endpoint of the binding, so
    then every endpoint carries the override's id (gateway header, journal, metrics).
    """
    decl = binding.override
    broad = decl is not None and (bool(decl.settings) or (override is not None and bool(override.extensions)))
    if not broad:
        return dict(endpoints)
    assert decl is not None
    return {name: spec if spec.override else dataclasses.replace(spec, override=decl.id)
            for name, spec in endpoints.items()}


def _match_path(spec: EndpointSpec, path: str) -> dict[str, str]:
    if not path:
        if spec.pattern is None:
            return {}
        regex = spec.path_regex
        if regex is not None and regex.fullmatch(""):
            return {k: v for k, v in regex.fullmatch("").groupdict().items() if v is not None}  # type: ignore[union-attr]
        raise NotFound(f"endpoint {spec.name} needs a path matching {spec.pattern}")
    regex = spec.path_regex
    if regex is None:
        raise NotFound(f"endpoint {spec.name} takes no path after its name")
    match = regex.fullmatch(path)
    if match is None:
        raise NotFound(f"path {path!r} does not match endpoint {spec.name}'s pattern {spec.pattern}")
    return {k: v for k, v in match.groupdict().items() if v is not None}


def _storage_url(territory: Territory) -> str:
    import os

    from framework.storage.db import URL_ENV

    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    if territory.storage_url:
        url = territory.storage_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            url = f"sqlite:///{resolve_path(territory.base_dir, url[len('sqlite:///'):])}"
        return url
    return default_url(territory.file)
