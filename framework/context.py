"""What a connector object receives: its binding's settings, HTTP client, store, log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from framework.config.model import Binding, Instance, SecretRef, Territory
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
