"""csv_datasource on a file that is not what it should be (a FIFO, a device, too big),
and its table: one per file and process, rows as the header says."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from connectors.csv_datasource import table
from framework import FileRefused, Unavailable
from framework.testing import call, check_text, make_raccord
from tests.framework.config.test_input_bounds import raccord as raccord_command

COMMUNES = "insee,name\n57463,Metz\n57480,Montigny-lès-Metz\n"


def territory(path: str = "communes.csv", extra: str = "", instances: tuple[str, ...] = ("metropole",)) -> str:
    text = f'''
[territory]
name = "Test"

[profiles.referentiel]
connector = "csv_datasource"

[profiles.referentiel.settings]
path = "{path}"
id_column = "insee"
text_column = "name"
{extra}
'''
    for name in instances:
        text += f'\n[instances.{name}]\nname = "{name}"\nprofiles = ["referentiel"]\n'
    return text


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "communes.csv").write_text(COMMUNES, encoding="utf-8")
    return tmp_path


def path_errors(folder: Path, text: str) -> list[str]:
    report = check_text(text, folder)
    return [f"{f.line}: {f.message}" for f in report.errors
            if f.path == ("profiles", "referentiel", "settings", "path")]


def test_a_fifo_as_csv_is_a_check_error_and_check_does_not_hang(folder: Path) -> None:
    os.mkfifo(folder / "fifo.csv")
    (folder / "instances.toml").write_text(territory("fifo.csv"), encoding="utf-8")
    done = raccord_command(["--config", "instances.toml", "check"], folder)
    assert done.returncode == 1
    assert "instances.toml:9: profiles.referentiel.settings.path: 'fifo.csv' is a named pipe (FIFO), " \
           "not a regular file" in done.stdout


def test_a_device_as_csv_is_a_check_error(folder: Path) -> None:
    assert path_errors(folder, territory("/dev/zero")) == ["9: '/dev/zero' is a character device, not a regular file"]


def test_a_csv_over_max_file_bytes_is_a_check_error(folder: Path) -> None:
    errors = path_errors(folder, territory(extra="max_file_bytes = 20"))
    size = len(COMMUNES.encode())
    assert errors == [f"9: the CSV file of the 'path' setting is {size} bytes, over the 20-byte limit"]
    assert path_errors(folder, territory(extra=f"max_file_bytes = {size}")) == []


def test_a_csv_swapped_for_a_fifo_after_start_fails_the_call_at_once(folder: Path) -> None:
    r = make_raccord(territory(), folder)
    try:
        assert len(call(r, "metropole/referentiel/data")) == 2
        (folder / "communes.csv").unlink()
        os.mkfifo(folder / "communes.csv")
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                call(r, "metropole/referentiel/data")
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive(), "the call hangs on the FIFO"
        assert len(outcome) == 1 and isinstance(outcome[0], FileRefused)
        assert isinstance(outcome[0], Unavailable)  # a 503, the path not shown
        assert "FIFO" in str(outcome[0]) and str(folder) not in str(outcome[0])
    finally:
        r.close()


def test_bindings_on_one_file_share_one_table(folder: Path) -> None:
    table.clear()
    r = make_raccord(territory(instances=("metz", "marly")), folder)
    try:
        first = r.bound("metz", "referentiel").connector._load()  # type: ignore[attr-defined]
        assert r.bound("marly", "referentiel").connector._load() is first  # type: ignore[attr-defined]
        (folder / "communes.csv").write_text(COMMUNES + "57751,Woippy\n", encoding="utf-8")
        assert len(call(r, "marly/referentiel/data")) == 3  # re-read when it changes
    finally:
        r.close()


def test_rows_follow_the_header_blank_lines_skipped(folder: Path) -> None:
    (folder / "communes.csv").write_text("\ufeffinsee, name ,canton\n57463, Metz \n\n57480,Montigny,M,extra\n",
                                         encoding="utf-8")
    r = make_raccord(territory().replace('text_column = "name"', 'text_column = "name"'), folder)
    try:
        items = call(r, "metropole/referentiel/data")
        assert items == [{"insee": "57463", "name": "Metz", "canton": "", "id": "57463", "text": "Metz"},
                         {"insee": "57480", "name": "Montigny", "canton": "M", "id": "57480", "text": "Montigny"}]
    finally:
        r.close()


def test_equal_cells_are_one_object_and_distinct_columns_are_not_looked_up() -> None:
    rows = [[f"id{i}", "Metz" if i % 2 else "Marly"] for i in range(10_000)]
    t = table.Table(["id", "name"], iter(rows), "name", 0)
    names = t.column("name")
    assert names is not None and names[1] is names[3] and t.folded[1] is t.folded[3]
    assert len(t) == 10_000 and t.item(2, "id", "name") == {"id": "id2", "name": "Marly", "text": "Marly"}
