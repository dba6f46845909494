"""The status page in process (Werkzeug test client): a club's ledger line with its
members and parts, the advisor, access and the retry form's CSRF protection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from framework.gateway.app import make_app
from framework.plugins import make_plugin_manager
from framework.runtime import queue
from tests.framework.costs import toy
from tests.framework.costs.test_advise_clubs import CLUB, territory_text

CLIENTS = """
[instances.metro.clients.admin]
basic = { username = "admin", password = { env = "STATUS_ADMIN_PASSWORD" } }
permissions = ["can_admin"]

[instances.metro.clients.reader]
basic = { username = "reader", password = { env = "STATUS_READER_PASSWORD" } }

[instances.alpha.clients.admin]
basic = { username = "alpha-admin", password = { env = "STATUS_ALPHA_PASSWORD" } }
permissions = ["can_admin"]
"""
ADMIN = ("admin", "admin-pw")


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (("STATUS_ADMIN_PASSWORD", "admin-pw"), ("STATUS_READER_PASSWORD", "reader-pw"),
                        ("STATUS_ALPHA_PASSWORD", "alpha-pw")):
        monkeypatch.setenv(name, value)
    config = tmp_path / "instances.toml"
    config.write_text(territory_text(c=CLUB) + CLIENTS, encoding="utf-8")
    gw = make_app(config, database_url=f"sqlite:///{tmp_path / 'status.sqlite3'}",
                  pm=make_plugin_manager(plugins=[toy], entry_points=False))
    yield gw
    gw.close()


def test_the_ledger_shows_a_club_once_with_its_members_and_parts(gateway: Any) -> None:
    page = Client(gateway).get("/_status/", auth=ADMIN)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.get_data(as_text=True)
    row = re.search(r'<tr class="[^"]*" data-override="club:capitales">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "alpha (180,00 €), beta (540,00 €), gamma (360,00 €)" in row.group(1)
    assert html.count('data-override="') == 1  # one line for the three members
    assert "Content-Security-Policy" in page.headers and "<script" not in html


def test_access_401_403_and_scope(gateway: Any) -> None:
    client = Client(gateway)
    anonymous = client.get("/_status/")
    assert anonymous.status_code == 401 and anonymous.json["err"] == 1
    reader = client.get("/_status/", auth=("reader", "reader-pw"))
    assert reader.status_code == 403 and "can_admin" in reader.json["err_desc"]
    commune = client.get("/_status/", auth=("alpha-admin", "alpha-pw")).get_data(as_text=True)
    assert 'id="inst-alpha"' in commune and 'id="inst-beta"' not in commune  # its own instance only
    english = client.get("/_status/", auth=ADMIN, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_retry_needs_the_form_token_and_the_same_site(gateway: Any) -> None:
    job = queue.enqueue(gateway.raccord.db, "alpha", "adresse", "sync", max_attempts=1)
    from sqlalchemy import update

    from framework.storage.schema import jobs

    with gateway.raccord.db.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job).values(status="dead", error="gone"))
    client = Client(gateway)
    html = client.get("/_status/", auth=ADMIN).get_data(as_text=True)
    token = re.search(rf'action="/_status/jobs/{job}/retry\?lang=fr"><input type="hidden" name="csrf" '
                      r'value="([0-9a-f]{64})"', html)
    assert token is not None
    assert client.post(f"/_status/jobs/{job}/retry", auth=ADMIN, data={"csrf": "0" * 64}).status_code == 403
    cross = client.post(f"/_status/jobs/{job}/retry", auth=ADMIN, data={"csrf": token.group(1)},
                        headers={"Origin": "https://evil.example", "Host": "localhost"})
    assert cross.status_code == 403
    other = client.post(f"/_status/jobs/{job}/retry", auth=("alpha-admin", "alpha-pw"),
                        data={"csrf": token.group(1)})
    assert other.status_code == 403  # another client's token
    done = client.post(f"/_status/jobs/{job}/retry", auth=ADMIN, data={"csrf": token.group(1)})
    assert done.status_code == 303 and done.headers["Location"] == f"/_status/?lang=fr&retried={job}#dead"
    assert queue.find_job(gateway.raccord.db, job).status == "queued"
    again = client.post(f"/_status/jobs/{job}/retry", auth=ADMIN, data={"csrf": token.group(1)})
    assert again.status_code == 400 and again.json["err"] == 1
