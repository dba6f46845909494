"""An override module for framework tests (real ones live under contrib/)."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, Param, endpoint, hookimpl
from framework.overrides import OverrideBuilder


def echo_lowercase(connector: Connector, call: Call) -> dict[str, Any]:
    return {"params": dict(call.params), "overridden": True}


@endpoint(permission="open", description="Added for this instance only.", params=[Param("who", str, "a name", "metz")])
def hello(connector: Connector, call: Call) -> str:
    return f"hello {call.params['who']}"


def label(self: Connector, text: str) -> str:
    return f"[{text}]"


@hookimpl
def raccord_override(override: OverrideBuilder) -> None:
    override.replace_endpoint("echo", echo_lowercase)
    override.add_endpoint(hello)
    override.set_extension("label", label)
