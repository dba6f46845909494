"""Opening the database: SQLite file by default (created on first use), PostgreSQL
by URL; the schema is brought up to date with Alembic on open."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event

from framework.errors import ConfigError

URL_ENV = "RACCORD_DATABASE_URL"
_migrated: set[str] = set()
_lock = threading.Lock()


def default_url(config_file: str | None = None) -> str:
    """``RACCORD_DATABASE_URL``, else a SQLite file beside the configuration."""
    if url := os.environ.get(URL_ENV):
        return url
    base = Path(config_file).resolve().parent if config_file else Path.cwd()
    return f"sqlite:///{base / 'var' / 'raccord.sqlite3'}"


class Database:
    """An engine plus what the code needs to know about its dialect."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def insert(self, table: Table) -> Any:
        """An INSERT of this database's dialect: it has ``on_conflict_do_update`` /
        ``on_conflict_do_nothing`` on both SQLite and PostgreSQL (upserts, idempotency)."""
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql if self.is_postgres else sqlite).insert(table)

    def dispose(self) -> None:
        self.engine.dispose()


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = _normalise(url)
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise ConfigError(f"cannot use database URL: {exc}",
                          hint=f"set a valid SQLAlchemy URL in [storage] url or {URL_ENV}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers wait
    # for each other instead of failing, which several worker processes need.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open (and, once per process and URL, migrate) the database at ``url``."""
    engine = make_engine(url)
    if migrate:
        with _lock:
            if url not in _migrated:
                from framework.storage.migrate import upgrade

                upgrade(engine)
                _migrated.add(url)
    return Database(engine)
