"""The plugin contract of raccord: every hook a plugin may implement.

Connectors (shipped under ``connectors/`` or in any installed package) and instance
overrides (under ``contrib/``) are pluggy plugins. They import ``hookimpl`` from
:mod:`framework` and nothing else from pluggy. Shipped connectors load through the
same ``raccord`` entry-point group as third-party ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from typing import Any

    from framework.app import Raccord
    from framework.config.model import Territory
    from framework.config.report import Report
    from framework.overrides import OverrideBuilder
    from framework.registry import ConnectorRegister, ConnectorRegistry

PROJECT = "raccord"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------------------
# Registration: which connector types exist
# --------------------------------------------------------------------------------------


@hookspec
def raccord_register_connectors(register: ConnectorRegister) -> None:
    """Register connector classes with ``register.add(ConnectorClass)``.

    :param register: the typed register; ``add`` validates the class (an ``id``, a
        subclass of :class:`framework.Connector`, declarations that make sense) and
        refuses a second class with the same ``id``, naming both modules.

    Called once per plugin manager, for every plugin; return values are ignored.
    Keep the import of the connector class inside the hook so that loading the
    plugin (``raccord check``) stays cheap.
    """


# --------------------------------------------------------------------------------------
# Overrides: one instance's deviation from the common project
# --------------------------------------------------------------------------------------


@hookspec
def raccord_override(override: OverrideBuilder) -> None:
    """Describe what an override module changes for the instances that declare it.

    Implemented by modules under ``contrib/`` named in an instance's
    ``[instances.<i>.overrides.<profile>] plugin = "contrib.…"``. The hook is called
    once per declaring binding, with a builder bound to that instance and profile:
    ``override.replace_endpoint(name, func)``, ``override.add_endpoint(func)``,
    ``override.replace_job(name, func)``, ``override.add_job(func)``,
    ``override.set_extension(name, func)``. The framework records exactly what is
    replaced or added; replacing something the connector does not have is an error.
    Return values are ignored.
    """


# --------------------------------------------------------------------------------------
# Validation: extra checks run by ``raccord check``
# --------------------------------------------------------------------------------------


@hookspec
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Add checks to ``raccord check``.

    :param territory: the loaded, immutable configuration.
    :param registry: the connector types known to this plugin manager.
    :param report: collect findings with ``report.error(path, message, hint=…)`` or
        ``report.warning(…)``; ``path`` is the dotted key in ``instances.toml``, which
        the report turns into file:line.

    Every implementation runs (findings accumulate); return values are ignored.
    """


# --------------------------------------------------------------------------------------
# History: what a plugin knows of one report (``raccord history <ref>``)
# --------------------------------------------------------------------------------------


@hookspec
def raccord_history(raccord: Raccord, ref: str) -> list[dict[str, Any]] | None:
    """Tell ``raccord history`` what this plugin knows of one report or request.

    :param raccord: the open runtime (its bindings, stores and database).
    :param ref: what the administrator typed: a request's reference, a ticket id, a
        dispatch request id… Match it however the plugin's records are keyed.

    Return a list of events ``{"at": ISO 8601 date, "instance", "profile", "event",
    "detail"}`` (extra keys are kept in ``--format json``), or ``None`` when the plugin
    knows nothing of ``ref``. Every implementation runs; the command merges all the
    events by date. Never put a secret or a citizen's address in an event: mask it.
    """
