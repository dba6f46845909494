"""The outbound call policy of one binding, read from its settings.

Every field has a safe default, so a binding without any of these settings still gets
timeouts, TLS verification, bounded retries and a circuit breaker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError

#: Methods a retry cannot duplicate (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Answers that say "try again later".
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class OutboundPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    #: seconds for the whole call — connection, headers and every byte of the answer,
    #: retries and their waits included (read_timeout is per socket read only)
    total_timeout: float = 30.0
    #: the largest answer read, in bytes (streamed: memory stays bounded)
    max_answer_bytes: int = 10 * 1024 * 1024
    #: calls of the binding running at once in one process; 0 = half the threads
    max_concurrency: int = 0
    ca_bundle: str | None = None
    retries: int = 2
    retry_backoff: float = 0.5
    retry_backoff_max: float = 10.0
    retry_after_max: float = 10.0
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    proxy: str | None = None

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ConfigError("connect_timeout, read_timeout and total_timeout must be positive",
                              hint="every outbound call has a timeout; set a number of seconds")
        if self.retries < 0 or self.breaker_threshold < 1:
            raise ConfigError("retries must be >= 0 and breaker_threshold >= 1")
        if self.max_answer_bytes < 1 or self.max_concurrency < 0:
            raise ConfigError("max_answer_bytes must be >= 1 and max_concurrency >= 0 (0: derived "
                              "from the gateway's threads)")
        if self.ca_bundle is not None and not os.path.exists(self.ca_bundle):
            raise ConfigError(f"ca_bundle {self.ca_bundle} does not exist",
                              hint="give the path of a PEM file with the server's CA certificate")

    @property
    def timeout(self) -> tuple[float, float]:
        # No single socket operation may outlast the whole call either.
        return (min(self.connect_timeout, self.total_timeout), min(self.read_timeout, self.total_timeout))

    @property
    def proxies(self) -> dict[str, str]:
        return {"http": self.proxy, "https": self.proxy} if self.proxy else {}

    @classmethod
    def from_settings(cls, values: Mapping[str, Any], base_dir: str = ".") -> OutboundPolicy:
        """The policy from a binding's effective settings (missing ones keep defaults)."""
        known = {f: values[f] for f in cls.__dataclass_fields__ if f in values and values[f] != ""}
        if ca := known.get("ca_bundle"):
            # A relative path is relative to instances.toml, like every configured path.
            known["ca_bundle"] = os.path.join(base_dir, str(ca))
        for name in ("retries", "breaker_threshold", "max_answer_bytes", "max_concurrency"):
            if name in known:
                known[name] = int(known[name])
        return cls(**known)
