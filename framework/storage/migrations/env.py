"""Alembic environment: uses the connection handed over by framework.storage.migrate."""

from __future__ import annotations

from alembic import context

from framework.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always migrate from code
    raise RuntimeError("run migrations through framework.storage.migrate.upgrade()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
