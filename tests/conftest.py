"""Shared fixtures: databases (SQLite always; PostgreSQL, which must run when CI=true)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.testing import postgres

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT / "tests" / "data"
PG_ADMIN_URL = postgres.admin_url()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL server's URL; skips only outside CI when no server runs."""
    return postgres.require()


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with postgres.postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'raccord.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'raccord.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))
