"""The scheduler's daily upkeep purges journal rows past retention, once per territory."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from sqlalchemy import func, insert, select

from framework.runtime.scheduler import Scheduler
from framework.storage.schema import journal
from framework.testing import make_raccord
from tests.framework import demo_connector

TERRITORY = textwrap.dedent('''\
    [runtime]
    journal_retention_days = 30

    [profiles.tickets]
    connector = "demo"

    [instances.metz]
    profiles = ["tickets"]
    [instances.metz.settings.tickets]
    url = "https://gru.metz.example"
    password = { env = "DEMO_PASSWORD" }
    ''')


def test_maintenance_purges_the_journal_past_retention(tmp_path: Path, database_url: str) -> None:
    r = make_raccord(TERRITORY, tmp_path, plugins=[demo_connector], entry_points=False, database_url=database_url)
    try:
        now = dt.datetime.now(dt.UTC)
        with r.db.engine.begin() as conn:
            conn.execute(insert(journal), [
                {"at": now - dt.timedelta(days=40), "direction": "out", "instance": "metz", "url": "old"},
                {"at": now - dt.timedelta(days=2), "direction": "out", "instance": "metz", "url": "recent"},
            ])
        Scheduler(r)._maintain()
        with r.db.engine.connect() as conn:
            kept = conn.execute(select(journal.c.url)).scalars().all()
            assert kept == ["recent"]
            assert conn.execute(select(func.count()).select_from(journal)).scalar_one() == 1
    finally:
        r.close()
