"""The test kit for connector authors (tox ships ``tox.pytest``; raccord ships this).

Installed with raccord, it is also a pytest plugin (the ``pytest11`` entry point
``raccord = "framework.testing.plugin"``): its fixtures are available in every test
suite of a project that depends on raccord, with no conftest to write. The plain
helpers below work without pytest fixtures:

- :func:`make_raccord` / :func:`check_text` — a territory from TOML text, loaded by
  the same code as ``raccord serve`` and ``raccord check``;
- :func:`call` — invoke an endpoint through the gateway's call path (as the
  administrator, ``as_="metz.wcs"`` a client, or ``as_=None`` anonymous);
- :class:`GatewayClient` with :func:`signed`, :func:`apikey`, :func:`basic` — the
  gateway's WSGI application in process, as each kind of caller;
- :class:`LiveGateway` — the real gateway under gunicorn on a loopback port;
- :class:`FakeServer` — a business server on a loopback port (routes, recorded
  requests; slow, down or answering garbage);
- :func:`run_job`, :func:`run_queued` and :func:`stored` — run a connector's job (or the
  queued ones) now and read what it kept;
- :class:`ConnectorChecks` — the standard checks every connector gets for free.

Documented fixture by fixture in docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from framework.access import ADMINISTRATOR, Administrator
from framework.app import Raccord, check_config
from framework.config.report import Report
from framework.plugins import make_plugin_manager
from framework.testing.checks import ConnectorChecks, connector_problems
from framework.testing.client import ANONYMOUS, Caller, GatewayAnswer, GatewayClient, apikey, basic, signed
from framework.testing.fakeserver import Answer, FakeServer, Received, answer
from framework.testing.jobs import run_job, run_queued, stored
from framework.testing.live import LiveGateway, free_port
from framework.testing.postgres import postgres_database

#: The ``raccord_territory`` fixture: ``(toml, *, database=…, plugins=…, entry_points=…) → Raccord``.
TerritoryFactory = Callable[..., Raccord]
#: The ``raccord_client`` fixture: ``(toml_or_raccord, **territory_options) → GatewayClient``.
ClientFactory = Callable[..., GatewayClient]
#: The ``raccord_live`` fixture: ``(toml, *, workers=…, env=…, plugins=…) → LiveGateway``.
LiveFactory = Callable[..., LiveGateway]

__all__ = [
    "ANONYMOUS",
    "Answer",
    "Caller",
    "ClientFactory",
    "ConnectorChecks",
    "FakeServer",
    "GatewayAnswer",
    "GatewayClient",
    "LiveFactory",
    "LiveGateway",
    "Raccord",
    "Received",
    "TerritoryFactory",
    "answer",
    "apikey",
    "basic",
    "call",
    "check_text",
    "connector_problems",
    "free_port",
    "gateway_client",
    "make_raccord",
    "postgres_database",
    "raccord_database",
    "run_job",
    "run_queued",
    "signed",
    "stored",
    "write_config",
]


def write_config(text: str, tmp_path: Path, name: str = "instances.toml") -> Path:
    """Write ``text`` as ``tmp_path/name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_raccord(text: str, tmp_path: Path, *, plugins: Iterable[object] = (),
                 entry_points: bool = True, database_url: str | None = None) -> Raccord:
    """A runtime over ``text`` with its own plugin manager and a SQLite file under
    ``tmp_path`` (or ``database_url``); raises ConfigError, listing every error, if the
    text is not valid. Close it with ``.close()``."""
    path = write_config(text, tmp_path)
    pm = make_plugin_manager(plugins=plugins, entry_points=entry_points)
    url = database_url or f"sqlite:///{tmp_path / 'raccord.sqlite3'}"
    return Raccord.open(path, database_url=url, pm=pm)


def check_text(text: str, tmp_path: Path, *, plugins: Iterable[object] = (),
               entry_points: bool = True) -> Report:
    """The report ``raccord check`` would print for ``text``."""
    path = write_config(text, tmp_path)
    _, report, _ = check_config(str(path), make_plugin_manager(plugins=plugins, entry_points=entry_points))
    return report


def call(raccord: Raccord, target: str, *, method: str = "GET", body: Any = None, path: str = "",
         as_: str | Administrator | None = ADMINISTRATOR, **params: Any) -> Any:
    """``call(r, "metz/adresse/search", q="rue")`` → the endpoint's data (errors raise),
    through the gateway's call path: it refuses what the gateway refuses (same
    permission and body-schema errors).

    ``as_`` is who calls: a client ``"<instance>.<client>"``, ``None`` (anonymous) or
    the administrator (default)."""
    instance, profile, endpoint = target.split("/", 2)
    caller = raccord.caller(as_) if isinstance(as_, str) else as_
    return raccord.invoke(instance, profile, endpoint, method=method, params=params, body=body, path=path,
                          caller=caller)


def gateway_client(raccord: Raccord) -> GatewayClient:
    """The production gateway over ``raccord``, in process (closing it closes ``raccord``)."""
    from framework.gateway.app import Gateway

    return GatewayClient(Gateway(raccord))


@contextmanager
def raccord_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A database URL for one test: ``"sqlite"`` (a file under ``tmp_path``) or
    ``"postgres"`` (a fresh database on the test server, dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'raccord.sqlite3'}"
    elif kind == "postgres":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"database must be 'sqlite' or 'postgres', not {kind!r}")
