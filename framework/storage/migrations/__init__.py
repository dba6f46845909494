"""Alembic migrations of raccord's schema (``versions/``).

:data:`HEAD` names the newest revision, so that opening a database whose schema is
current needs neither Alembic nor a walk of the migration scripts (``raccord call``
runs once per command). A new migration updates it; tests/framework/test_storage.py
fails until it matches Alembic's own head.
"""

HEAD = "0002"
