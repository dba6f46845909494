"""A binding's secret values never reach the outbound journal, whatever the vendor
calls the query parameter that carries them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from framework import Call, Connector, Setting, endpoint, hookimpl
from framework.registry import ConnectorRegister
from framework.storage.schema import journal
from framework.testing import call, make_raccord


class VendorApi(Connector):
    """Takes its credential in a query parameter named 'mdp'."""

    id = "vendor_api"
    url = Setting(str, description="the vendor's server", variability="instance")
    mdp = Setting(str, description="the vendor's password", secret=True, variability="instance")

    @endpoint(permission="open", description="Ask the vendor something.")
    def ask(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/ask", params={"mdp": self.settings.mdp, "q": "x"})


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(VendorApi)


TERRITORY = textwrap.dedent('''\
    [profiles.v]
    connector = "vendor_api"
    [instances.metz]
    profiles = ["v"]
    [instances.metz.settings.v]
    url = "https://vendor.example"
    mdp = { env = "VENDOR_MDP" }
    ''')


def test_secret_values_are_masked_in_journaled_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_MDP", "p@ss word&42")
    r = make_raccord(TERRITORY, tmp_path, plugins=[sys.modules[__name__]], entry_points=False)
    try:
        with responses.RequestsMock() as mock:
            mock.get("https://vendor.example/ask", json={"ok": True})
            assert call(r, "metz/v/ask") == {"ok": True}
            assert "p%40ss" in mock.calls[0].request.url  # the vendor did get it
        r.outbound.journal.flush()
        with r.db.engine.connect() as conn:
            urls = conn.execute(select(journal.c.url).where(journal.c.direction == "out")).scalars().all()
    finally:
        r.close()
    assert len(urls) == 1 and "q=x" in urls[0]
    assert "p@ss" not in urls[0] and "p%40ss" not in urls[0] and "word" not in urls[0], urls[0]
