"""A fresh PostgreSQL database per test.

The server is ``RACCORD_TEST_PG`` (default: the development machines' server,
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, trust authentication). Where
it does not answer, tests needing it are skipped — except when ``CI=true``, where they
fail: a CI run must never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_ENV = "RACCORD_TEST_PG"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    """The URL of the test server's maintenance database."""
    return os.environ.get(ADMIN_ENV, DEFAULT_ADMIN_URL)


def available(url: str | None = None) -> bool:
    """Does the test server answer?"""
    try:
        import psycopg

        with psycopg.connect((url or admin_url()).replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


def require() -> str:
    """The admin URL; skip (or fail when CI=true) if the server does not answer."""
    import pytest

    url = admin_url()
    if not available(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {url} and CI=true: it must run")
        pytest.skip(f"PostgreSQL is not running at {url} (set {ADMIN_ENV})")
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a database for one test, yield its URL, drop it afterwards."""
    import psycopg

    from framework.storage import db as dbmod

    admin = require()
    name = f"raccord_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        dbmod._migrated.discard(url)
        with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
