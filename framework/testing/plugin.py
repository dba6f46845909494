"""raccord's pytest plugin: fixtures for connector authors.

Registered through the ``pytest11`` entry point, so any project that installs raccord
gets these fixtures without a conftest. Each is documented in docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from framework.app import Raccord
from framework.testing import (
    ClientFactory,
    LiveFactory,
    TerritoryFactory,
    gateway_client,
    make_raccord,
    raccord_database,
    write_config,
)
from framework.testing.client import GatewayClient
from framework.testing.fakeserver import FakeServer
from framework.testing.live import LiveGateway


@pytest.fixture
def raccord_territory(tmp_path: Path) -> Iterator[TerritoryFactory]:
    """A factory: ``raccord_territory(toml, database="sqlite", plugins=(), entry_points=True)``
    returns a :class:`~framework.app.Raccord` loaded from the TOML text with its own
    plugin manager and database — a SQLite file under ``tmp_path``, or with
    ``database="postgres"`` a fresh PostgreSQL database (dropped afterwards). Invalid
    TOML raises ConfigError listing every error. Everything is closed at teardown."""
    with ExitStack() as stack:
        count = 0

        def make(toml: str, *, database: str = "sqlite", plugins: tuple[object, ...] = (),
                 entry_points: bool = True) -> Raccord:
            nonlocal count
            count += 1
            where = tmp_path / f"territory-{count}"
            where.mkdir()
            url = stack.enter_context(raccord_database(database, where))
            raccord = make_raccord(toml, where, plugins=plugins, entry_points=entry_points, database_url=url)
            stack.callback(raccord.close)
            return raccord

        yield make


@pytest.fixture
def raccord_client(raccord_territory: TerritoryFactory) -> ClientFactory:
    """A factory: ``raccord_client(toml_or_raccord, **territory_options)`` returns a
    :class:`~framework.testing.GatewayClient`, the production gateway in process, going
    through the same routing, authentication, permission and body-schema checks as
    ``raccord serve``; call it as anonymous, ``signed(orig, secret)``, ``apikey(key)``
    or ``basic(user, password)``."""

    def make(territory: str | Raccord, **options: Any) -> GatewayClient:
        raccord = raccord_territory(territory, **options) if isinstance(territory, str) else territory
        return gateway_client(raccord)

    return make


@pytest.fixture
def raccord_live(tmp_path: Path) -> Iterator[LiveFactory]:
    """A factory: ``raccord_live(toml, workers=1, env={}, plugins=(), files={}, database_url=None)``
    starts the real gateway (gunicorn) on a free loopback port and returns a
    :class:`~framework.testing.LiveGateway` (``.url``, ``.get``, ``.post``); the
    connectors come from the installed entry points (and ``plugins``, dotted module
    names); ``files`` (name → text) are written beside the configuration, where its
    relative paths point. Stopped at teardown."""
    with ExitStack() as stack:
        count = 0

        def start(toml: str, *, workers: int = 1, env: dict[str, str] | None = None,
                  plugins: tuple[str, ...] = (), files: dict[str, str] | None = None,
                  database_url: str | None = None) -> LiveGateway:
            nonlocal count
            count += 1
            where = tmp_path / f"live-{count}"
            where.mkdir()
            for name, text in (files or {}).items():
                write_config(text, where, name)
            config = write_config(toml, where)
            url = database_url or f"sqlite:///{where / 'raccord.sqlite3'}"
            return stack.enter_context(LiveGateway(config, url, workers=workers, env=env, plugins=plugins))

        yield start


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A :class:`~framework.testing.FakeServer` listening on a free loopback port:
    ``fake_server.add("GET", "/path", json=…)``, ``.received()``, ``.down()``/``.up()``,
    ``.delay = 2.0``, ``.garbage = True``. Stopped at teardown."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def raccord_responses() -> Iterator[Any]:
    """An active ``responses.RequestsMock``: outbound calls of the connectors under test
    are answered by what the test registers (``raccord_responses.get(url, json=…)``),
    and a call to anything unregistered fails the call (never the network). Requests
    that were registered but not made do not fail the test."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
