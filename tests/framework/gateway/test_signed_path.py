"""The signed call's hot path: a journal flush in progress never holds up a nonce insert
(SQLite and PostgreSQL), the query string is parsed once, PostgreSQL nonce connections
closed by the server are replaced before use, and none outlives the gateway."""

from __future__ import annotations

import select
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from framework.storage import bulk
from tests.framework.gateway import fakes, signer
from tests.framework.gateway.conftest import make_gateway

KEY = fakes.SECRETS["GW_ALPHA_WCS"]


class BlockedAppend:
    """Every journal write stops inside ``Appender.append`` until released: a flush in
    progress (a slow database), for as long as the test likes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        original = bulk.Appender.append

        def append(appender: bulk.Appender, rows: Any) -> None:
            self.entered.set()
            assert self.release.wait(10), "never released"
            original(appender, rows)

        monkeypatch.setattr(bulk.Appender, "append", append)


def finishes(target: Any) -> bool:
    """Does ``target`` return (within 5 s) while the journal stays blocked?"""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    return not thread.is_alive()


@pytest.mark.parametrize("which", ["inbound", "outbound"])
def test_a_journal_flush_in_progress_does_not_hold_up_a_signed_call(
        territory_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    gw = make_gateway(territory_file, database_url)
    blocked = BlockedAppend(monkeypatch)
    try:
        writer = gw.journal if which == "inbound" else gw.raccord.outbound.journal
        writer.record(instance="alpha", profile="echo", method="GET", url="/alpha/echo/x", status=200)
        flusher = threading.Thread(target=writer.flush, daemon=True)
        flusher.start()
        assert blocked.entered.wait(5)
        answers: list[int] = []
        query = signer.sign("orig=wcs.alpha.test", KEY)
        assert finishes(lambda: answers.append(Client(gw).get(f"/alpha/echo/private?{query}").status_code))
        assert answers == [200] and not blocked.release.is_set()  # answered while the flush was stuck
        assert finishes(lambda: gw.auth.nonces.remember("wcs.alpha.test", "another"))
        blocked.release.set()
        flusher.join(5)
    finally:
        blocked.release.set()
        gw.close()


def test_the_query_string_is_parsed_once(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import parse_qsl

    from framework.gateway import query as query_module

    calls: list[str] = []

    def counting(name: str, parse: Any) -> Any:
        def parse_counted(query: str, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return parse(query, *args, **kwargs)
        return parse_counted

    monkeypatch.setattr(query_module, "parse", counting("gateway.query.parse", query_module.parse))
    for module in ("gateway.signature", "gateway.app", "app", "params"):
        if hasattr(sys.modules.get(f"framework.{module}"), "parse_qsl"):
            monkeypatch.setattr(f"framework.{module}.parse_qsl", counting(f"{module}.parse_qsl", parse_qsl))
    query = signer.sign("q=gare+de+Metz&n=4&orig=wcs.alpha.test", KEY)
    resp = client.get(f"/alpha/echo/echo?{query}")
    data = resp.get_json()["data"]
    assert resp.status_code == 200 and data["n"] == 4 and data["upstream"] == {"q": "gare de Metz"}
    assert data["client"] == "alpha.wcs"  # the signature was checked, on those same pairs
    assert calls == ["gateway.query.parse"]
    replayed = client.get(f"/alpha/echo/echo?{query}")
    assert replayed.status_code == 401 and "nonce already used" in replayed.get_json()["err_desc"]


@pytest.mark.postgres
def test_a_nonce_connection_the_server_closed_is_replaced(territory_file: Path, pg_url: str) -> None:
    import psycopg

    gw = make_gateway(territory_file, pg_url)
    admin = pg_url.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres"
    name = pg_url.rsplit("/", 1)[1]
    try:
        store = gw.auth.nonces
        store.remember("o", "first")
        conn = store._local.conn
        with psycopg.connect(admin, autocommit=True) as ctl:
            ctl.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        readable, _, _ = select.select([conn.fileno()], [], [], 5)
        assert readable  # the server said goodbye
        store.remember("o", "second")  # on a new connection, not a 503
        assert store._local.conn is not conn
        from framework.errors import Unauthorized

        with pytest.raises(Unauthorized, match="nonce already used"):
            store.remember("o", "first")
    finally:
        gw.close()
    with psycopg.connect(admin, autocommit=True) as ctl:
        left = ctl.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
    assert left == (0,)  # closing the gateway closed its nonce connections too


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*"ab=&+%;2F0éz ", "%C3%A9", "%ZZ", "%e9", "%C3", "=="]), max_size=30).map("".join)
       | st.text(max_size=30))
def test_the_query_parser_agrees_with_parse_qsl(query: str) -> None:
    from urllib.parse import parse_qsl

    from framework.gateway.query import parse

    assert parse(query) == parse_qsl(query, keep_blank_values=True)
