"""The plain helpers of the test kit, without fixtures."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from framework.errors import ConfigError
from framework.testing import (
    Answer,
    Caller,
    GatewayAnswer,
    GatewayClient,
    LiveGateway,
    Raccord,
    check_text,
    free_port,
    gateway_client,
    make_raccord,
    postgres_database,
    raccord_database,
    signed,
    write_config,
)
from tests.framework.gateway import fakes

CSV = """
[profiles.communes]
connector = "csv_datasource"
[profiles.communes.settings]
path = "communes.csv"
id_column = "insee"
text_column = "name"

[instances.metz]
profiles = ["communes"]
"""


def test_make_raccord_and_check_text(tmp_path: Path) -> None:
    write_config("insee,name\n57463,Metz\n", tmp_path, "communes.csv")
    raccord = make_raccord(CSV, tmp_path)
    try:
        assert isinstance(raccord, Raccord) and raccord.territory.instances["metz"].profiles == ("communes",)
    finally:
        raccord.close()
    report = check_text(CSV.replace("csv_datasource", "csv_datasourse"), tmp_path)
    assert not report.ok and "did you mean 'csv_datasource'?" in "\n".join(str(f) for f in report.errors)
    with pytest.raises(ConfigError, match="is not valid"):
        make_raccord(CSV.replace("csv_datasource", "nope"), tmp_path)


def test_gateway_client_over_a_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in fakes.SECRETS.items():
        monkeypatch.setenv(name, value)
    raccord = make_raccord(fakes.territory_toml("http://127.0.0.1:9"), tmp_path, plugins=[fakes], entry_points=False)
    client = gateway_client(raccord)
    try:
        assert isinstance(client, GatewayClient)
        caller = signed("wcs.beta.test", fakes.SECRETS["GW_BETA_WCS"])
        assert isinstance(caller, Caller) and "signature=" in caller.query("q=1")
        answer = client.get("/beta/echo/private", caller=caller)
        assert isinstance(answer, GatewayAnswer) and answer.status == 200 and answer.err_class is None
        assert answer.headers["Content-Type"].startswith("application/json")
    finally:
        client.close()


def test_free_port_is_free() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_answer_is_a_plain_record() -> None:
    assert Answer(201, b"{}").status == 201


def test_live_gateway_reports_a_server_that_cannot_start(tmp_path: Path) -> None:
    config = write_config("[instances.metz]\nprofiles = ['missing']\n", tmp_path)
    with pytest.raises(RuntimeError, match="the gateway exited"):
        LiveGateway(config, f"sqlite:///{tmp_path / 'db.sqlite3'}", start_timeout=20)


def test_raccord_database_kinds(tmp_path: Path) -> None:
    with raccord_database("sqlite", tmp_path) as url:
        assert url.startswith("sqlite:///")
    with pytest.raises(ValueError, match="'sqlite' or 'postgres'"), raccord_database("mysql", tmp_path):
        pass


@pytest.mark.postgres
def test_postgres_database_is_fresh_and_dropped() -> None:
    import psycopg

    with postgres_database() as url:
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)
        name = url.rsplit("/", 1)[1]
    from framework.testing.postgres import admin_url

    with psycopg.connect(admin_url().replace("+psycopg", "")) as conn:
        assert conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None
