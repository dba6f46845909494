"""Storage: one schema (SQLAlchemy Core), migrated with Alembic; SQLite by default,
PostgreSQL by URL."""

from framework.storage.db import Database, default_url, open_database

__all__ = ["Database", "default_url", "open_database"]
