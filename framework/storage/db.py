"""Opening the database: SQLite file by default (created on first use), PostgreSQL
by URL; the schema is brought up to date with Alembic on open.

A database that fails must give callers a fast 503, never a hang or a 500: every
engine has bounded waits (SQLite's busy timeout; PostgreSQL's connect and statement
timeouts; the pool's checkout timeout), all below the gateway's own deadline, and
:func:`is_database_error` tells the gateway which exceptions mean "the database is
unavailable". A SQLite file that was deleted or replaced while serving is refused
(:class:`FileReplaced`) rather than written to: writes to an unlinked file are lost.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy import exc as sa_exc

from framework.errors import ConfigError

URL_ENV = "RACCORD_DATABASE_URL"
_migrated: set[str] = set()
_lock = threading.Lock()

#: SQLite writers wait this long for the single write lock, then fail (a 503): below
#: the gateway's worker timeout, so a database locked by another process is a fast answer.
SQLITE_BUSY_MS = 5000
#: PostgreSQL: connecting, one statement, and waiting for a pooled connection. The
#: gateway's workers use the shorter statement timeout (a call waits for no long query);
#: jobs and commands the longer one (a big referential import is one long transaction).
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 60000
GATEWAY_STATEMENT_TIMEOUT_MS = 5000
POOL_TIMEOUT_S = 5.0
#: Seconds a caller is told to wait before retrying when the database is unavailable.
RETRY_AFTER_S = 5


class FileReplaced(sa_exc.OperationalError):
    """The SQLite file is not the one opened: deleted, moved or replaced while serving."""

    def __init__(self, path: str) -> None:
        super().__init__("sqlite file check", None, sqlite3.OperationalError(
            f"the database file {Path(path).name} was deleted or replaced while in use"))


def is_database_error(exc: BaseException) -> bool:
    """A driver or pool error: the database is down, locked, hung, read-only or gone."""
    import psycopg

    return isinstance(exc, (sa_exc.DBAPIError, sa_exc.TimeoutError, sqlite3.Error, psycopg.Error))


def database_error_text(exc: BaseException) -> str:
    """One line naming the database problem, without the statement or its parameters."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(exc, sa_exc.TimeoutError):
        return "no database connection free in time (pool timeout)"
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {first}"[:300]


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

    def check_file(self) -> None:
        """Raise :class:`FileReplaced` if the SQLite file is not the one first opened."""
        guard: _FileGuard | None = getattr(self.engine, "_raccord_guard", None)
        if guard is not None:
            guard.check()

    def dispose(self) -> None:
        self.engine.dispose()


class _FileGuard:
    """The identity (device, inode) of a SQLite file, taken once it exists.

    Checked at every connection checkout and nonce write (a ``stat``, ~2 µs): once the
    file is deleted, open connections still write to the unlinked inode, so an accepted
    job would be lost; a new connection would create an empty file instead."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None

    def check(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self.identity is None:
                return  # not created yet: the first connection creates it
            raise FileReplaced(self.path) from None
        current = (st.st_dev, st.st_ino)
        if self.identity is None:
            self.identity = current
        elif current != self.identity:
            raise FileReplaced(self.path)


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, statement_timeout_ms: int = PG_STATEMENT_TIMEOUT_MS) -> Engine:
    url = _normalise(url)
    kwargs: dict[str, Any] = {"future": True}
    path = ""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=POOL_TIMEOUT_S,
                      connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S,
                                    "options": f"-c statement_timeout={statement_timeout_ms}"})
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise ConfigError(f"cannot use database URL: {exc}",
                          hint=f"set a valid SQLAlchemy URL in [storage] url or {URL_ENV}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if path and path != ":memory:" and not path.startswith("file:"):
            guard = _FileGuard(path)
            engine._raccord_guard = guard  # type: ignore[attr-defined]
            event.listen(engine, "checkout", lambda *_: guard.check())
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers wait
    # for each other instead of failing, which several worker processes need.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def schema_current(engine: Engine) -> bool:
    """Whether the schema is at :data:`~framework.storage.migrations.HEAD` (one query).

    Any doubt — no version table yet, a database that fails — answers False: the
    migration then runs, under its lock, and reports the real error if there is one."""
    from framework.storage.migrations import HEAD

    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except sa_exc.SQLAlchemyError:
        return False
    return list(found) == [HEAD]


def open_database(url: str, *, migrate: bool = True,
                  statement_timeout_ms: int = PG_STATEMENT_TIMEOUT_MS) -> Database:
    """Open (and, once per process and URL, migrate) the database at ``url``."""
    engine = make_engine(url, statement_timeout_ms)
    if migrate:
        with _lock:
            if url not in _migrated:
                if not schema_current(engine):
                    from framework.storage.migrate import upgrade  # imports Alembic (75 ms): only when needed

                    upgrade(engine)
                _migrated.add(url)
    db = Database(engine)
    db.check_file()  # takes the file's identity now that it exists
    return db
