"""Loading a territory: parse, validate and run the ``raccord_check`` hooks.

This module is what ``raccord check`` runs, so it imports no runtime (no SQLAlchemy,
no HTTP client, no Alembic): :mod:`framework.app` builds the runtime on top of it.

The cyclic garbage collector is kept out of the way while a territory is built. A
5,000-instance load allocates millions of container objects that all stay alive:
every collection of the oldest generation traverses all of them again for nothing
(36 % of the load, and the part that grows faster than the territory). The few
cycles a load leaves behind are collected once, afterwards, by whoever wants them
gone; :func:`freeze_loaded` then moves the survivors to the permanent generation so
that later collections skip them — and, in ``raccord serve``, never write to their
pages: the gateway workers forked from the master share them copy-on-write.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

# The one place a command's default plugin manager is made (tests replace it here).
from framework.plugins import make_plugin_manager as make_plugin_manager

if TYPE_CHECKING:
    import pluggy

    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.registry import ConnectorRegistry


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it
    (nested pauses keep it off until the outermost one ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_loaded() -> None:
    """For a long-lived process that forks (the serve master): collect what the load left
    behind once, then keep everything alive out of every later collection.

    A reload calls this again: :func:`gc.unfreeze` first, so that the previous
    territory, now garbage, is collected rather than kept frozen for ever."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def check_config(path: str, pm: pluggy.PluginManager | None = None) -> tuple[Territory | None, Report,
                                                                            ConnectorRegistry]:
    """Load and validate ``path``, running the ``raccord_check`` hooks too."""
    from framework.config.loader import load
    from framework.overrides import apply_overrides
    from framework.plugins import load_registry

    with collector_paused():
        pm = pm or make_plugin_manager()
        registry = load_registry(pm)
        territory, report = load(path, registry)
        if territory is not None:
            territory = apply_overrides(territory, pm, report)
            pm.hook.raccord_check(territory=territory, registry=registry, report=report)
    return territory, report, registry
