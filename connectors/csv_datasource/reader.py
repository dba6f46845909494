"""Reading a CSV file into rows, with clear errors for a missing or malformed file.

Errors name the setting, never the file's path on the server: they reach callers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from framework import Unavailable


def read_rows(path: Path, delimiter: str, encoding: str) -> list[dict[str, str]]:
    return read_table(path, delimiter, encoding)[1]


def read_table(path: Path, delimiter: str, encoding: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header's columns and the rows of the file."""
    text = _read_text(path, encoding).lstrip("\ufeff")
    if delimiter == "auto":
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames:
        raise Unavailable("the CSV file has no header line", hint="the first line must name the columns")
    columns = [c.strip() for c in reader.fieldnames]
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    return columns, rows


def _read_text(path: Path, encoding: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Unavailable(f"the CSV file of the 'path' setting cannot be read ({exc.strerror})",
                          hint="run `raccord check`: it names the file") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise Unavailable(f"the CSV file is not {encoding} text",
                          hint="set the 'encoding' setting (e.g. latin-1)") from None
    except LookupError:
        raise Unavailable(f"unknown encoding {encoding!r} for the CSV file",
                          hint="set the 'encoding' setting to a Python codec name, e.g. utf-8 or latin-1") from None


def column_problem(id_column: str, text_column: str, columns: list[str]) -> tuple[str, str] | None:
    """(setting, message) when the id or text column is not in the file: it would serve
    empty ids. The message lists the columns the file has."""
    for setting, column in (("id_column", id_column), ("text_column", text_column)):
        if column not in columns:
            return setting, (f"the CSV file has no column {column!r} ({setting}); "
                             f"its columns: {', '.join(columns)}")
    return None
