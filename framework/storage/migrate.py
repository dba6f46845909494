"""Running Alembic migrations from code (no alembic.ini needed).

Several processes or machines may open a fresh database at once (two `raccord serve`
sharing one PostgreSQL): the migration runs under a lock — a transaction-scoped
advisory lock on PostgreSQL, a file lock beside the SQLite file — so the second one
waits, then finds the schema up to date, instead of failing on ``already exists``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
#: Advisory lock key of the migration ("migrate" in ASCII); the scheduler uses another.
MIGRATION_LOCK_KEY = 0x6D69_6772_6174_65


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with _file_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _file_lock(engine: Engine) -> AbstractContextManager[Any]:
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return nullcontext()
    from filelock import FileLock

    return FileLock(f"{path}.migrate.lock", timeout=60)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
