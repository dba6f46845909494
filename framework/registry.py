"""Connector types, keyed by their stable id (tox's ``register.add_run_env`` pattern)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from framework.access import verify_declaration
from framework.connector import Connector, describe
from framework.declarations import VARIABILITIES, ConnectorInfo
from framework.errors import PluginError


class ConnectorRegister:
    """Handed to ``raccord_register_connectors``: the one way to add a connector type."""

    def __init__(self) -> None:
        self._infos: dict[str, ConnectorInfo] = {}

    def add(self, cls: type[Connector]) -> None:
        """Register ``cls`` under ``cls.id``; invariants fail here, naming the class."""
        where = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)}"
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise PluginError(f"{where}: register.add() takes a subclass of framework.Connector")
        if not cls.id or not cls.id.isidentifier():
            raise PluginError(f"{where}: set a class attribute id = \"<name>\" (a Python identifier)")
        if cls.id in self._infos:
            other = self._infos[cls.id].module
            raise PluginError(
                f"{where}: connector id {cls.id!r} is already registered by {other}; "
                "rename one of them or block one plugin (RACCORD_BLOCK_PLUGINS)"
            )
        info = describe(cls)
        _verify(info, where)
        self._infos[cls.id] = info

    def build(self) -> ConnectorRegistry:
        return ConnectorRegistry(self._infos)


def _verify(info: ConnectorInfo, where: str) -> None:
    for name, setting in info.settings.items():
        if setting.variability not in VARIABILITIES:
            raise PluginError(
                f"{where}: setting {name!r} has variability {setting.variability!r}; "
                f"use one of {', '.join(VARIABILITIES)}"
            )
        if setting.secret and setting.variability == "fixed":
            raise PluginError(f"{where}: secret setting {name!r} cannot be 'fixed'")
    from framework.runtime.schedule import parse_schedule

    for name, job in info.jobs.items():
        try:
            if job.schedule is not None:
                parse_schedule(job.schedule)
        except ValueError as exc:
            raise PluginError(f"{where}: job {name!r}: {exc}") from None
    for name, spec in info.endpoints.items():
        verify_declaration(spec, where)
        if not spec.description:
            raise PluginError(f"{where}: endpoint {name!r} needs a description (or a docstring)")
        if spec.pattern is not None:
            try:
                spec.path_regex  # noqa: B018 - compiling is the check
            except Exception as exc:
                raise PluginError(f"{where}: endpoint {name!r} pattern is invalid: {exc}") from exc


class ConnectorRegistry(Mapping[str, ConnectorInfo]):
    """The immutable set of connector types known to one plugin manager."""

    def __init__(self, infos: Mapping[str, ConnectorInfo]) -> None:
        self._infos = dict(infos)

    def __getitem__(self, key: str) -> ConnectorInfo:
        return self._infos[key]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._infos))

    def __len__(self) -> int:
        return len(self._infos)
