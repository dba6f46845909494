"""``raccord check`` warns about secrets it cannot resolve now.

An unset environment variable or a missing secret file does not stop ``check`` (the
service's environment may differ from the admin's shell), but a client or binding
that needs it will be refused or unavailable: each is a warning at the line where
the reference is written, naming who needs it — never the value. A reference to
something that is not a secret file (a FIFO, a device, a directory, a file over the
size limit or not UTF-8 text) is an error: the configuration points at the wrong
thing, and ``serve`` refuses to start on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from framework import SecretRef, Territory, Unavailable, hookimpl
from framework.config.report import Report
from framework.errors import FileRefused
from framework.registry import ConnectorRegistry

_Path = tuple[str, ...]


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    needed: dict[_Path, tuple[SecretRef, list[str]]] = {}
    for path, ref, who in _references(territory):
        needed.setdefault(path, (ref, []))[1].append(who)
    for path, (ref, users) in needed.items():
        try:
            ref.resolve()
        except FileRefused as exc:
            report.error(path, exc.message, hint=exc.hint)
        except Unavailable as exc:
            shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            report.warning(path, f"{exc.message}: {shown} cannot work without it", hint=exc.hint)


def _references(territory: Territory) -> Iterator[tuple[_Path, SecretRef, str]]:
    for inst in territory.instances.values():
        for client in inst.clients.values():
            cpath = ("instances", inst.name, "clients", client.name)
            if client.apikey is not None:
                yield (*cpath, "apikey"), client.apikey, f"client {client.id}"
            if client.basic is not None:
                yield (*cpath, "basic", "password"), client.basic.password, f"client {client.id}"
            if client.signature is not None:
                yield (*cpath, "signature", "secret"), client.signature.secret, f"client {client.id}"
    for binding in territory.bindings.values():
        for name, eff in binding.settings.items():
            if isinstance(eff.value, SecretRef):
                yield binding.setting_path(name), eff.value, f"binding {binding.id} ({name})"
