from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from framework.storage import open_database
from framework.storage.migrate import alembic_config, current
from framework.storage.records import RecordStore


def test_migrations_create_the_schema(database_url: str) -> None:
    db = open_database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {"nonces", "journal", "jobs", "records", "cache", "availability", "requests",
            "request_history"} <= tables
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migrations must have exactly one head, not {heads}"
    assert current(db.engine) == heads[0]
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
