"""Applying an instance's override module (under ``contrib/``) to its binding.

The module implements the ``raccord_override`` hook; the builder records exactly what
it replaces or adds, and refuses to replace what the connector does not have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from framework import hookspecs
from framework.access import verify_declaration
from framework.config.model import Binding, OverrideDecl
from framework.declarations import EndpointSpec, JobSpec
from framework.errors import PluginError


@dataclass(frozen=True)
class Change:
    kind: str  # "replace_endpoint" | "add_endpoint" | "replace_job" | "add_job" | "set_extension"
    target: str
    func: Callable[..., Any]

    @property
    def location(self) -> str:
        code = getattr(self.func, "__code__", None)
        where = f"{code.co_filename}:{code.co_firstlineno}" if code else "?"
        return f"{self.func.__module__}.{self.func.__qualname__} ({where})"


@dataclass
class OverrideBuilder:
    """Handed to ``raccord_override``: what one override changes for one binding."""

    binding: Binding
    decl: OverrideDecl
    endpoints: dict[str, EndpointSpec] = field(default_factory=dict)
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    extensions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.endpoints = dict(self.binding.connector.endpoints)
        self.jobs = dict(self.binding.connector.jobs)

    @property
    def instance(self) -> str:
        return self.binding.instance.name

    @property
    def profile(self) -> str:
        return self.binding.profile.name

    @property
    def _where(self) -> str:
        return f"override {self.decl.id} ({self.decl.plugin}) of connector {self.binding.connector.id}"

    def _fail(self, message: str) -> PluginError:
        return PluginError(f"override {self.decl.id} ({self.decl.plugin}): {message}")

    def replace_endpoint(self, name: str, func: Callable[..., Any], **changes: Any) -> None:
        """Serve ``func(connector, call)`` instead of the connector's endpoint ``name``."""
        if name not in self.endpoints:
            raise self._fail(f"replaces endpoint {name!r}, which {self.binding.connector.id} does not have "
                             f"(it has: {', '.join(sorted(self.endpoints))})")
        spec = dataclasses.replace(self.endpoints[name], func=func, override=self.decl.id, **changes)
        verify_declaration(spec, self._where)
        self.endpoints[name] = spec
        self.changes.append(Change("replace_endpoint", name, func))

    def add_endpoint(self, func: Callable[..., Any]) -> None:
        """Add an endpoint declared with ``@framework.endpoint`` on a plain function."""
        spec = getattr(func, "_raccord_endpoint", None)
        if spec is None:
            raise self._fail(f"{func.__qualname__} is not decorated with @endpoint")
        if spec.name in self.endpoints:
            raise self._fail(f"adds endpoint {spec.name!r}, which exists: use replace_endpoint")
        verify_declaration(spec, self._where)
        self.endpoints[spec.name] = dataclasses.replace(spec, override=self.decl.id)
        self.changes.append(Change("add_endpoint", spec.name, func))

    def replace_job(self, name: str, func: Callable[..., Any]) -> None:
        if name not in self.jobs:
            raise self._fail(f"replaces job {name!r}, which {self.binding.connector.id} does not have")
        self.jobs[name] = dataclasses.replace(self.jobs[name], func=func, override=self.decl.id)
        self.changes.append(Change("replace_job", name, func))

    def add_job(self, func: Callable[..., Any]) -> None:
        spec = getattr(func, "_raccord_job", None)
        if spec is None:
            raise self._fail(f"{func.__qualname__} is not decorated with @job")
        if spec.name in self.jobs:
            raise self._fail(f"adds job {spec.name!r}, which exists: use replace_job")
        self.jobs[spec.name] = dataclasses.replace(spec, override=self.decl.id)
        self.changes.append(Change("add_job", spec.name, func))

    def set_extension(self, name: str, func: Callable[..., Any]) -> None:
        """Replace the connector method marked ``@extension`` called ``name``."""
        if name not in self.binding.connector.extensions:
            raise self._fail(f"sets extension {name!r}; {self.binding.connector.id}'s extensions are: "
                             f"{', '.join(self.binding.connector.extensions) or 'none'}")
        self.extensions[name] = func
        self.changes.append(Change("set_extension", name, func))


def apply_override(binding: Binding) -> OverrideBuilder | None:
    """Run the binding's override module, if it declares one, and return the result."""
    decl = binding.override
    if decl is None or decl.plugin is None:
        return None
    import importlib

    try:
        module = importlib.import_module(decl.plugin)
    except Exception as exc:
        raise PluginError(f"override {decl.id}: module {decl.plugin!r} failed to import: "
                          f"{type(exc).__name__}: {exc}") from exc
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(module, name=decl.plugin)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"override {decl.id}: {exc}") from exc
    if not pm.hook.raccord_override.get_hookimpls():
        raise PluginError(f"override {decl.id}: module {decl.plugin!r} implements no raccord_override hook",
                          )
    builder = OverrideBuilder(binding, decl)
    try:
        pm.hook.raccord_override(override=builder)
    except PluginError:
        raise
    except Exception as exc:
        # A bug in the override's own code: `raccord check` reports it at the plugin line.
        raise PluginError(f"override {decl.id}: {decl.plugin}.raccord_override failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    return builder
