"""Building the plugin manager (a factory, never at import time)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType

import pluggy

from framework import hookspecs
from framework.errors import PluginError
from framework.registry import ConnectorRegister, ConnectorRegistry

ENTRY_POINT_GROUP = "raccord"
BLOCK_ENV = "RACCORD_BLOCK_PLUGINS"
#: Extra plugin modules by dotted name, comma-separated: a connector not packaged yet
#: (development, tests) served by the real ``raccord`` command and its child processes.
PLUGINS_ENV = "RACCORD_PLUGINS"
#: Plugins that ship inside the framework (checks), registered by every manager.
BUILTIN_PLUGINS: tuple[str, ...] = ("framework.checks.overrides", "framework.checks.secrets", "framework.checks.access")


def make_plugin_manager(
    *,
    plugins: Iterable[object] = (),
    block: Iterable[str] = (),
    entry_points: bool = True,
) -> pluggy.PluginManager:
    """A plugin manager with raccord's hookspecs and its plugins registered.

    ``plugins`` are registered first (tests pass their own); then, unless
    ``entry_points`` is false, every entry point of the ``raccord`` group. Names in
    ``block`` (and in the comma-separated ``RACCORD_BLOCK_PLUGINS``) are skipped.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = {*block, *_env_blocked()}
    for blocked_name in blocked:
        pm.set_blocked(blocked_name)
    for plugin in plugins:
        name = getattr(plugin, "__name__", None)
        if name is None or not pm.is_blocked(name):
            _register(pm, plugin, name)
    _register_builtins(pm)
    if entry_points:
        _load_env_plugins(pm)
        _load_entry_points(pm)
    _check_pending(pm)
    return pm


def _load_env_plugins(pm: pluggy.PluginManager) -> None:
    import importlib

    for dotted in (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",")):
        if not dotted or pm.is_blocked(dotted) or pm.get_plugin(dotted) is not None:
            continue
        try:
            module = importlib.import_module(dotted)
        except Exception as exc:
            raise PluginError(f"plugin {dotted!r} (from {PLUGINS_ENV}) failed to import: "
                              f"{type(exc).__name__}: {exc} — fix the module or its name in {PLUGINS_ENV}") from exc
        _register(pm, module, dotted)
def _check_pending(pm: pluggy.PluginManager) -> None:
    """A hook implementation no hookspec knows (a misspelt name) is a load error naming
    its plugin, not a hook that silently never runs."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin {name!r}: {exc} — check the hook's name against framework/hookspecs.py "
                          f"(docs/hooks.md), or block the plugin with {BLOCK_ENV}={name}") from exc


def _register_builtins(pm: pluggy.PluginManager) -> None:
    import importlib

    for dotted in BUILTIN_PLUGINS:
        if not pm.is_blocked(dotted) and pm.get_plugin(dotted) is None:
            _register(pm, importlib.import_module(dotted), dotted)


def _env_blocked() -> list[str]:
    return [n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()]


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    try:
        pm.register(plugin, name=name)
    except ValueError as exc:  # pluggy: already registered under that name
        raise PluginError(f"plugin {name!r}: {exc}") from exc
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin {name!r}: {exc} — check the hook's name and parameters against "
            "framework/hookspecs.py"
        ) from exc


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from framework.entrypoints import entry_points

    for ep in entry_points(ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        try:
            module = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name!r} (entry point {ep.value}) failed to import: "
                f"{type(exc).__name__}: {exc} — fix the module, reinstall its package, "
                f"or block it with {BLOCK_ENV}={ep.name}"
            ) from exc
        _register(pm, as_plugin(module), ep.name)


class _Registers:
    """The plugin an entry point naming connector classes directly stands for."""

    def __init__(self, classes: list[type]) -> None:
        self.classes = classes

    @hookspecs.hookimpl
    def raccord_register_connectors(self, register: ConnectorRegister) -> None:
        for cls in self.classes:
            register.add(cls)


def as_plugin(loaded: object) -> object:
    """What to register for an entry point: a module with hook implementations as it
    is; a connector class (``pkg.module:MyConnector``), or a module without hooks that
    defines connector classes, as a plugin registering them."""
    from framework.connector import Connector

    if isinstance(loaded, type) and issubclass(loaded, Connector):
        return _Registers([loaded])
    if not isinstance(loaded, ModuleType) or _has_hooks(loaded):
        return loaded
    own = [v for v in vars(loaded).values()
           if isinstance(v, type) and issubclass(v, Connector) and v is not Connector
           and v.__module__ == loaded.__name__ and v.id]
    return _Registers(own) if own else loaded


def _has_hooks(module: ModuleType) -> bool:
    return any(name.startswith("raccord_") and callable(value) for name, value in vars(module).items())


def load_registry(pm: pluggy.PluginManager) -> ConnectorRegistry:
    """Ask every plugin for its connector types."""
    register = ConnectorRegister()
    pm.hook.raccord_register_connectors(register=register)
    return register.build()
