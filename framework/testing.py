"""A test kit for connector authors (tox ships ``tox.pytest``; we ship this).

``make_raccord(toml, tmp_path)`` loads a territory from TOML text with its own plugin
manager and a SQLite file under ``tmp_path``: the same path the gateway and the
command line use. ``call(r, "inst/prof/endpoint", q="…")`` invokes an endpoint and
returns its data, through the gateway's call path: ``as_="metz.wcs"`` calls as that
client, ``as_=None`` as the anonymous caller, and it refuses what the gateway refuses
(same permission and body-schema errors); by default it calls as the administrator.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from framework.access import ADMINISTRATOR, Administrator
from framework.app import Raccord, check_config
from framework.config.report import Report
from framework.plugins import make_plugin_manager


def write_config(text: str, tmp_path: Path, name: str = "instances.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_raccord(text: str, tmp_path: Path, *, plugins: Iterable[object] = (),
                 entry_points: bool = True, database_url: str | None = None) -> Raccord:
    """A runtime over ``text`` (raises ConfigError, listing errors, if it is invalid)."""
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
    """``call(r, "metz/adresse/search", q="rue")`` → the endpoint's data.

    ``as_`` is who calls: a client ``"<instance>.<client>"``, ``None`` (anonymous) or
    the administrator (default)."""
    instance, profile, endpoint = target.split("/", 2)
    caller = raccord.caller(as_) if isinstance(as_, str) else as_
    return raccord.invoke(instance, profile, endpoint, method=method, params=params, body=body, path=path,
                          caller=caller)
