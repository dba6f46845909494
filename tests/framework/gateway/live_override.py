"""An override module served as ``contrib.gw_live`` to the gateway under gunicorn."""

from __future__ import annotations

from typing import Any

from framework import Call, Connector, hookimpl
from framework.overrides import OverrideBuilder


def echo_beta(connector: Connector, call: Call) -> dict[str, Any]:
    return {"overridden_for": connector.ctx.binding.instance.name, "q": call.params["q"]}


@hookimpl
def raccord_override(override: OverrideBuilder) -> None:
    override.replace_endpoint("echo", echo_beta)
