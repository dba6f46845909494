"""Applying an instance's override module (under ``contrib/``) to its binding.

The module implements the ``raccord_override`` hook; the builder records exactly what
it replaces or adds, field by field, refuses to replace what the connector does not
have, and puts every endpoint and job it produces through the same verifier as a
shipped connector's (:mod:`framework.verify`). Overrides are applied once, when the
territory is loaded (:func:`apply_overrides`), and the result is held on the binding.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from framework.config.model import Binding, OverrideDecl
from framework.declarations import EndpointSpec, JobSpec
from framework.errors import PluginError
from framework.verify import endpoint_problems, job_problems

if TYPE_CHECKING:
    from framework.config.model import Territory
    from framework.config.report import Report

#: Fields of an endpoint or job a ledger line shows when an override sets them.
_LEDGER_FIELDS = ("permission", "open_reason", "description", "methods", "params", "body_schema",
                  "pattern", "cache_seconds", "datasource", "schedule")


@dataclass(frozen=True)
class Change:
    kind: str  # "replace_endpoint" | "add_endpoint" | "replace_job" | "add_job" | "set_extension"
    target: str
    func: Callable[..., Any]
    #: (field, connector's value, override's value) for each declared field it changes.
    fields: tuple[tuple[str, Any, Any], ...] = ()

    @property
    def location(self) -> str:
        code = getattr(self.func, "__code__", None)
        where = f"{code.co_filename}:{code.co_firstlineno}" if code else "?"
        return f"{self.func.__module__}.{self.func.__qualname__} ({where})"

    def describe(self) -> str:
        """``replaces endpoint search: permission 'open' → 'can_access'``."""
        verb, noun = self.kind.split("_", 1)
        verb = {"replace": "replaces", "add": "adds", "set": "sets"}[verb]
        parts = [f"{name} {before!r} → {after!r}" if self.kind.startswith("replace") else f"{name} {after!r}"
                 for name, before, after in self.fields]
        return f"{verb} {noun} {self.target}" + (f": {'; '.join(parts)}" if parts else "")


def _diff(before: object | None, after: object) -> tuple[tuple[str, Any, Any], ...]:
    fields = []
    for name in _LEDGER_FIELDS:
        if not hasattr(after, name):
            continue
        old, new = getattr(before, name, None), getattr(after, name)
        if before is None and new in (None, (), "", 0, False):
            continue  # an added declaration: only the fields it sets
        if old != new:
            fields.append((name, old, new))
    return tuple(fields)


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

    def _fail(self, message: str) -> PluginError:
        return PluginError(f"override {self.decl.id} ({self.decl.plugin}): {message}")

    def _verified(self, problems: list[str]) -> None:
        if problems:
            raise self._fail("; ".join(problems))

    def replace_endpoint(self, name: str, func: Callable[..., Any], **changes: Any) -> None:
        """Serve ``func(connector, call)`` instead of the connector's endpoint ``name``;
        ``changes`` set declared fields (``permission=…``, ``description=…``)."""
        if name not in self.endpoints:
            raise self._fail(f"replaces endpoint {name!r}, which {self.binding.connector.id} does not have "
                             f"(it has: {', '.join(sorted(self.endpoints))})")
        before = self.endpoints[name]
        try:
            spec = dataclasses.replace(before, func=func, override=self.decl.id, **changes)
        except TypeError as exc:
            raise self._fail(f"replace_endpoint({name!r}): {exc}") from None
        self._verified(endpoint_problems(spec))
        self.endpoints[name] = spec
        self.changes.append(Change("replace_endpoint", name, func, _diff(before, spec)))

    def add_endpoint(self, func: Callable[..., Any]) -> None:
        """Add an endpoint declared with ``@framework.endpoint`` on a plain function."""
        spec = getattr(func, "_raccord_endpoint", None)
        if spec is None:
            raise self._fail(f"{func.__qualname__} is not decorated with @endpoint")
        if spec.name in self.endpoints:
            raise self._fail(f"adds endpoint {spec.name!r}, which exists: use replace_endpoint")
        self._verified(endpoint_problems(spec))
        self.endpoints[spec.name] = dataclasses.replace(spec, override=self.decl.id)
        self.changes.append(Change("add_endpoint", spec.name, func, _diff(None, spec)))

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
        self._verified(job_problems(spec))
        self.jobs[spec.name] = dataclasses.replace(spec, override=self.decl.id)
        self.changes.append(Change("add_job", spec.name, func, _diff(None, spec)))

    def set_extension(self, name: str, func: Callable[..., Any]) -> None:
        """Replace the connector method marked ``@extension`` called ``name``."""
        if name not in self.binding.connector.extensions:
            raise self._fail(f"sets extension {name!r}; {self.binding.connector.id}'s extensions are: "
                             f"{', '.join(self.binding.connector.extensions) or 'none'}")
        self.extensions[name] = func
        self.changes.append(Change("set_extension", name, func))


def apply_overrides(territory: Territory, pm: pluggy.PluginManager, report: Report) -> Territory:
    """Apply every binding's override module once; the result is held on the binding.

    A module that fails (import, unknown hook, a target the connector lacks, a
    declaration the verifier refuses) is an error at the override's ``plugin`` line.
    """
    bindings = dict(territory.bindings)
    for key, binding in territory.bindings.items():
        decl = binding.override
        if decl is None or decl.plugin is None:
            continue
        try:
            applied = apply_override(binding, pm)
        except PluginError as exc:
            dead = "dead override: " if _is_dead_target(str(exc)) else ""
            report.error(("instances", decl.instance, "overrides", decl.profile, "plugin"), f"{dead}{exc}",
                         hint="fix the module under contrib/, or remove what it no longer needs to change")
            continue
        bindings[key] = dataclasses.replace(binding, applied=applied)
    return dataclasses.replace(territory, bindings=bindings)


# Messages of OverrideBuilder when the target no longer exists in the connector.
_DEAD_MARKERS = ("which", "does not have", "extensions are")


def _is_dead_target(message: str) -> bool:
    return ("replaces " in message or "sets extension" in message) and any(
        marker in message for marker in _DEAD_MARKERS)


def apply_override(binding: Binding, pm: pluggy.PluginManager) -> OverrideBuilder | None:
    """Run the binding's override module, if it declares one, and return the result.

    The module is registered in ``pm`` (the one plugin manager of the territory, so
    ``check_pending`` sees a misspelt hook in it) and only its own ``raccord_override``
    is called for this binding.
    """
    decl = binding.override
    if decl is None or decl.plugin is None:
        return None
    module = _register(pm, decl)
    others = [p for p in pm.get_plugins() if p is not module]
    caller = pm.subset_hook_caller("raccord_override", remove_plugins=others)
    if not caller.get_hookimpls():
        raise PluginError(f"override {decl.id}: module {decl.plugin!r} implements no raccord_override hook")
    builder = OverrideBuilder(binding, decl)
    try:
        caller(override=builder)
    except PluginError:
        raise
    except Exception as exc:
        # A bug in the override's own code: `raccord check` reports it at the plugin line.
        raise PluginError(f"override {decl.id}: {decl.plugin}.raccord_override failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    return builder


def _register(pm: pluggy.PluginManager, decl: OverrideDecl) -> ModuleType:
    assert decl.plugin is not None
    existing = pm.get_plugin(decl.plugin)
    if isinstance(existing, ModuleType):
        return existing
    try:
        module = importlib.import_module(decl.plugin)
    except Exception as exc:
        raise PluginError(f"override {decl.id}: module {decl.plugin!r} failed to import: "
                          f"{type(exc).__name__}: {exc}") from exc
    try:
        pm.register(module, name=decl.plugin)
        pm.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:
        if pm.get_plugin(decl.plugin) is not None:
            pm.unregister(name=decl.plugin)
        raise PluginError(f"override {decl.id}: {exc} — check the hook's name against "
                          "framework/hookspecs.py") from exc
    return module


def changes_of(bindings: Iterable[Binding]) -> list[tuple[Binding, Change]]:
    """Every recorded change of the overrides held on ``bindings``."""
    return [(b, c) for b in bindings if b.applied is not None for c in b.applied.changes]
