from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from framework.storage import open_database
from framework.storage.db import _migrated, schema_current
from framework.storage.migrate import alembic_config, current
from framework.storage.migrations import HEAD
from framework.storage.records import RecordStore


def test_migrations_create_the_schema(database_url: str) -> None:
    db = open_database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {"nonces", "journal", "jobs", "records", "cache", "availability", "requests",
            "request_history"} <= tables
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migrations must have exactly one head, not {heads}"
    assert current(db.engine) == heads[0]
    assert heads[0] == HEAD, "update framework/storage/migrations/__init__.py's HEAD with the new migration"
    assert schema_current(db.engine)
    db.dispose()


def test_a_database_behind_head_is_migrated_again(sqlite_url: str) -> None:
    from sqlalchemy import text

    db = open_database(sqlite_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        conn.execute(text("DROP TABLE request_history"))
        conn.execute(text("DROP TABLE requests"))
    assert not schema_current(db.engine)
    db.dispose()
    _migrated.discard(sqlite_url)  # a new process, as far as this module knows
    db = open_database(sqlite_url)
    assert schema_current(db.engine) and "requests" in inspect(db.engine).get_table_names()
    db.dispose()


def test_records_are_scoped_per_binding_and_searchable(database_url: str) -> None:
    db = open_database(database_url)
    metz = RecordStore(db, "metz", "adresse")
    woippy = RecordStore(db, "woippy", "adresse")
    metz.replace("streets", [("1", "Rue de l'Église", {"id": "1"}), ("2", "Place d'Armes", {"id": "2"})])
    woippy.replace("streets", [("9", "Rue de l'Église", {"id": "9"})])
    assert [r["id"] for r in metz.search("streets", "eglise")] == ["1"]
    assert metz.count("streets") == 2
    assert woippy.get("streets", "1") is None
    metz.replace("streets", [("3", "Rue Serpenoise", {"id": "3"})])
    assert metz.count("streets") == 1
    assert metz.search("streets", "50%") == []
    db.dispose()
