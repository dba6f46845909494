"""What a connector object receives: its binding's settings, HTTP client, store, log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from framework.config.model import Binding, Instance, SecretRef, Territory
from framework.errors import Forbidden, NotFound
from framework.outbound import OutboundHTTP
from framework.runtime.queue import JobQueue
from framework.storage.records import RecordStore


class SettingsView(Mapping[str, Any]):
    """Effective settings by name or attribute; secret references resolve on access."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        value = self._values[name]
        return value.resolve() if isinstance(value, SecretRef) else value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shown = {k: (str(v) if isinstance(v, SecretRef) else v) for k, v in self._values.items()}
        return f"SettingsView({shown})"


@dataclass
class BindingContext:
    binding: Binding
    settings: SettingsView
    http: OutboundHTTP
    store: RecordStore
    log: logging.LoggerAdapter[logging.Logger]
    base_dir: str = "."  # the directory of instances.toml: relative paths start here
    queue: JobQueue | None = None  # ctx.queue.enqueue(job, payload, idempotency_key=…) → job id
    # The whole territory (read-only) for connectors that route between instances.
    territory: Territory | None = None
    # ctx.invoke(profile, endpoint, params) calls another binding of the SAME instance
    # (e.g. dispatch → its base_adresse binding); never another instance's.
    invoke: Callable[[str, str, Mapping[str, Any]], Any] | None = None

    @property
    def instance(self) -> Instance:
        return self.binding.instance

    @property
    def binding_id(self) -> str:
        return self.binding.id

    def served_instance(self, name: str | None = None) -> Instance:
        """The instance a call acts for: this binding's own (``name`` empty), or one it
        hosts (``hosted_by`` it). A multi-communal binding speaks in a hosted commune's
        name; no binding may speak in the name of an instance it does not serve."""
        own = self.binding.instance
        if not name or name == own.name:
            return own
        instances = self.territory.instances if self.territory is not None else {}
        other = instances.get(name)
        if other is None:
            raise NotFound(f"unknown instance {name!r}")
        if other.hosted_by != own.name:
            raise Forbidden(f"{own.name} does not serve {name!r} (it is not hosted_by {own.name})",
                            hint=f"call {name}'s own binding, or the binding of the instance hosting it")
        return other

    def identity(self, name: str | None = None) -> dict[str, str]:
        """What a message shows for the served instance ``name``: its name and identity
        (logo, colours, contact, signature…), keys it leaves out inherited from its hosts
        (:meth:`Territory.identity`)."""
        instance = self.served_instance(name)
        merged = self.territory.identity(instance.name) if self.territory is not None else dict(instance.identity)
        return {**merged, "name": instance.title, "instance": instance.name}
