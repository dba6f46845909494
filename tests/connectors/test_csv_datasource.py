"""csv_datasource: a CSV file served as a w.c.s. data source, and `raccord call` on it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework import BadRequest, NotFound, Unavailable
from framework.app import Raccord
from framework.cli import cli
from framework.errors import ConfigError
from framework.testing import call, make_raccord

ROOT = Path(__file__).resolve().parent.parent.parent

COMMUNES = """insee,name,canton
57463,Metz,Metz
57480,Montigny-lès-Metz,Montigny
57032,Ars-sur-Moselle,Ars
57751,Woippy,Woippy
57447,Marly,Montigny
57624,Sainte-Ruffine,Ars
"""


def territory(path: str = "communes.csv", **settings: str) -> str:
    extra = "\n".join(f"{k} = {v}" for k, v in settings.items())
    return f"""
[territory]
name = "Test"

[profiles.referentiel]
connector = "csv_datasource"

[profiles.referentiel.settings]
path = "{path}"
id_column = "insee"
text_column = "name"
queries = {{ montigny = {{ canton = "Montigny" }}, ars = {{ canton = "Ars" }} }}
{extra}

[instances.metropole]
name = "Metz Métropole"
profiles = ["referentiel"]
"""


@pytest.fixture
def raccord(tmp_path: Path) -> Iterator[Raccord]:
    (tmp_path / "communes.csv").write_text(COMMUNES, encoding="utf-8")
    r = make_raccord(territory(), tmp_path)
    yield r
    r.close()


def ids(items: list[dict[str, str]]) -> list[str]:
    return [i["id"] for i in items]


def test_items_carry_id_text_and_every_column(raccord: Raccord) -> None:
    items = call(raccord, "metropole/referentiel/data")
    assert len(items) == 6
    assert items[0] == {"id": "57463", "text": "Metz", "insee": "57463", "name": "Metz", "canton": "Metz"}


def test_q_is_accent_and_case_insensitive_and_needs_every_word(raccord: Raccord) -> None:
    assert ids(call(raccord, "metropole/referentiel/data", q="MONTIGNY les")) == ["57480"]
    assert ids(call(raccord, "metropole/referentiel/data", q="lès")) == ["57480"]
    assert ids(call(raccord, "metropole/referentiel/data", q="metz")) == ["57463", "57480"]
    assert call(raccord, "metropole/referentiel/data", q="metz nancy") == []


def test_id_and_limit_filters(raccord: Raccord) -> None:
    assert [i["text"] for i in call(raccord, "metropole/referentiel/data", id="57751")] == ["Woippy"]
    assert call(raccord, "metropole/referentiel/data", id="99999") == []
    # The data-source contract: a list as repeated keys (what the gateway hands over) or commas.
    assert ids(call(raccord, "metropole/referentiel/data", id=["57480", "57463", "99999"])) == ["57463", "57480"]
    assert ids(call(raccord, "metropole/referentiel/data", id="57463,57480")) == ["57463", "57480"]
    assert ids(call(raccord, "metropole/referentiel/data", limit="2")) == ["57463", "57480"]
    with pytest.raises(BadRequest, match="limit"):
        call(raccord, "metropole/referentiel/data", limit="-1")
    with pytest.raises(BadRequest, match="'limit'"):
        call(raccord, "metropole/referentiel/data", limit="beaucoup")


def test_named_query_then_filters(raccord: Raccord) -> None:
    assert ids(call(raccord, "metropole/referentiel/query", name="montigny")) == ["57480", "57447"]
    assert ids(call(raccord, "metropole/referentiel/query", name="ars", q="sainte")) == ["57624"]
    assert ids(call(raccord, "metropole/referentiel/query", name="ars", id="57032")) == ["57032"]


def test_unknown_named_query_is_not_found_and_lists_known_ones(raccord: Raccord) -> None:
    with pytest.raises(NotFound) as caught:
        call(raccord, "metropole/referentiel/query", name="sud")
    assert caught.value.status == 404
    assert "'sud'" in caught.value.message and "ars, montigny" in (caught.value.hint or "")
    with pytest.raises(BadRequest, match="'name'"):
        call(raccord, "metropole/referentiel/query")


def test_file_changes_are_seen_without_restart(raccord: Raccord, tmp_path: Path) -> None:
    assert len(call(raccord, "metropole/referentiel/data")) == 6
    csv = tmp_path / "communes.csv"
    csv.write_text(COMMUNES + "57017,Amanvillers,Rombas\n", encoding="utf-8")
    stat = csv.stat()
    os.utime(csv, (stat.st_atime, stat.st_mtime + 5))  # mtime resolution can be coarse
    assert ids(call(raccord, "metropole/referentiel/data", q="amanvillers")) == ["57017"]


def test_missing_file_is_unavailable_and_names_the_path(tmp_path: Path) -> None:
    r = make_raccord(territory("absent/communes.csv"), tmp_path)
    try:
        with pytest.raises(Unavailable) as caught:
            call(r, "metropole/referentiel/data", q="metz")
    finally:
        r.close()
    assert caught.value.status == 503
    assert str(tmp_path / "absent" / "communes.csv") in caught.value.message
    assert "path" in (caught.value.hint or "")


def test_bad_encoding_says_which_setting_fixes_it(tmp_path: Path) -> None:
    (tmp_path / "communes.csv").write_bytes(COMMUNES.encode("latin-1"))
    r = make_raccord(territory(), tmp_path)
    try:
        with pytest.raises(ConfigError) as caught:
            call(r, "metropole/referentiel/data")
    finally:
        r.close()
    assert "not utf-8" in caught.value.message and "encoding" in (caught.value.hint or "")


def test_latin1_file_reads_with_the_encoding_setting(tmp_path: Path) -> None:
    (tmp_path / "communes.csv").write_bytes(COMMUNES.encode("latin-1"))
    r = make_raccord(territory(encoding='"latin-1"'), tmp_path)
    try:
        assert [i["text"] for i in call(r, "metropole/referentiel/data", id="57480")] == ["Montigny-lès-Metz"]
    finally:
        r.close()


def test_semicolon_delimiter_and_bom_are_detected(tmp_path: Path) -> None:
    # The INSEE's own exports: ';'-separated, CRLF line ends, a UTF-8 byte-order mark.
    text = "\ufeff" + COMMUNES.replace(",", ";").replace("\n", "\r\n")
    (tmp_path / "communes.csv").write_text(text, encoding="utf-8", newline="")
    r = make_raccord(territory(), tmp_path)
    try:
        items = call(r, "metropole/referentiel/data", q="montigny")
    finally:
        r.close()
    assert items == [{"id": "57480", "text": "Montigny-lès-Metz", "insee": "57480", "name": "Montigny-lès-Metz",
                      "canton": "Montigny"}]


def test_cli_call_on_the_example_territory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`raccord --config instances.toml call metropole referentiel data q=metz` on the
    repository's own example."""
    monkeypatch.setenv("RACCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.chdir(tmp_path)  # the CSV path is relative to instances.toml, not the cwd
    result = CliRunner().invoke(cli, ["--config", str(ROOT / "instances.toml"), "call", "metropole",
                                      "referentiel", "data", "q=metz"])
    assert result.exit_code == 0, result.output
    envelope = json.loads(result.output)
    assert envelope["err"] == 0
    names = {item["text"] for item in envelope["data"]}
    assert {"Metz", "Montigny-lès-Metz", "Moulins-lès-Metz"} <= names
    assert all("metz" in item["text"].lower() for item in envelope["data"])


def test_cli_call_error_prints_the_error_envelope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RACCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    result = CliRunner().invoke(cli, ["--config", str(ROOT / "instances.toml"), "call", "metropole",
                                      "referentiel", "query", "name=nulle_part"])
    assert result.exit_code == 1
    envelope = json.loads(result.output)
    assert envelope["err"] == 1 and envelope["err_class"] == "raccord.not_found"
    assert "nulle_part" in envelope["err_desc"]


@pytest.mark.parametrize(("setting", "expected"), [
    ('encoding = "utf-9"', "unknown encoding 'utf-9'"),
    ('delimiter = "||"', "delimiter '||'"),
    ('delimiter = ""', "delimiter ''"),
])
def test_bad_encoding_or_delimiter_setting_is_a_config_error(tmp_path: Path, setting: str,
                                                            expected: str) -> None:
    (tmp_path / "communes.csv").write_text(COMMUNES, encoding="utf-8")
    key, value = setting.split(" = ")
    r = make_raccord(territory(**{key: value}), tmp_path)
    try:
        with pytest.raises(ConfigError) as caught:
            call(r, "metropole/referentiel/data")
    finally:
        r.close()
    assert expected in caught.value.message


def test_a_column_the_file_lacks_is_a_clear_error(tmp_path: Path) -> None:
    from framework.errors import ConfigError

    (tmp_path / "communes.csv").write_text("insee,name\n57463,Metz\n", encoding="utf-8")
    text = f"""
[profiles.ref]
connector = "csv_datasource"
[profiles.ref.settings]
path = "{tmp_path / 'communes.csv'}"
id_column = "code"
text_column = "name"

[instances.metz]
profiles = ["ref"]
"""
    r = make_raccord(text, tmp_path)
    try:
        with pytest.raises(ConfigError, match=r"no column 'code' \(id_column\)") as err:
            call(r, "metz/ref/data")
        assert err.value.hint is not None and "insee, name" in err.value.hint
    finally:
        r.close()
