"""An unexpected exception is a 500 with an incident id; its traceback, logged for the
administrator, holds no secret even when the connector's message quotes one."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from framework import Call, Connector, Setting, endpoint, hookimpl
from framework.gateway.app import make_app
from framework.plugins import make_plugin_manager
from framework.registry import ConnectorRegister

TOKEN = "tok-3f9a2c71"


class Careless(Connector):
    """Quotes its credentials in its own error messages."""

    id = "careless"
    token = Setting(str, description="API token", secret=True, variability="instance")

    @endpoint(permission="open", description="Fail with a message quoting secrets.")
    def boom(self, call: Call) -> Any:
        raise RuntimeError(f"vendor refused token {self.settings.token} "
                           f"at https://user:{self.settings.token}@vendor.example/api?apikey=k-123456")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Careless)


def test_incident_traceback_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CARELESS_TOKEN", TOKEN)
    config = tmp_path / "instances.toml"
    config.write_text(textwrap.dedent('''\
        [profiles.c]
        connector = "careless"
        [instances.metz]
        profiles = ["c"]
        [instances.metz.settings.c]
        token = { env = "CARELESS_TOKEN" }
        '''), encoding="utf-8")
    pm = make_plugin_manager(plugins=[sys.modules[__name__]], entry_points=False)
    gw = make_app(config, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", pm=pm)
    try:
        with caplog.at_level(logging.ERROR, logger="raccord.gateway"):
            resp = Client(gw).get("/metz/c/boom")
    finally:
        gw.close()
    assert resp.status_code == 200 and resp.get_json()["err_class"] == "raccord.incident"  # Passerelle mode
    incident = resp.get_json()["data"]["incident"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert incident in logged and "RuntimeError" in logged and "Traceback" in logged
    assert TOKEN not in logged and "k-123456" not in logged and TOKEN not in resp.get_data(as_text=True)
