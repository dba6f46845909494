"""Reading a CSV file: a regular file of bounded size, decoded and split as it is read.

Errors name the setting, never the file's path on the server: they reach callers
(``raccord check`` names the file, at the line of the ``path`` setting).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from framework import Unavailable, read_bounded

_WHAT = "the CSV file of the 'path' setting"


def read_table(path: Path, delimiter: str, encoding: str,
               limit: int) -> tuple[list[str], Iterator[list[str]]]:
    """The header's columns and an iterator over the rows, each as long as the header.

    The file is read at once (at most ``limit`` bytes: a FIFO, a device or a bigger
    file is refused before reading) and decoded while the rows are split: no second
    copy of the whole text is ever held.
    """
    raw = _read(path, limit)
    if delimiter == "auto":
        try:
            head = raw[:8192].decode(encoding, "ignore")
            delimiter = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
        except LookupError:
            raise _unknown_encoding(encoding) from None
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline="")
    except LookupError:
        raise _unknown_encoding(encoding) from None
    del raw  # the wrapper holds the bytes; nothing else must
    lines = _lines(csv.reader(text, delimiter=delimiter), encoding)
    header = next(lines, None)
    if not header:
        raise Unavailable("the CSV file has no header line", hint="the first line must name the columns")
    columns = [c.strip() for c in header]
    columns[0] = columns[0].lstrip("\ufeff").strip()  # a UTF-8 byte-order mark
    return columns, _cells(lines, len(columns))


def _cells(lines: Iterator[list[str]], width: int) -> Iterator[list[str]]:
    """Each row cut or padded to the header's width, its cells stripped (as
    ``csv.DictReader`` gave them: extra cells dropped, missing ones empty)."""
    for row in lines:
        if not row:  # a blank line (csv.DictReader skipped them too)
            continue
        cells = [c.strip() for c in row[:width]]
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        yield cells


def _lines(reader: Any, encoding: str) -> Iterator[list[str]]:
    """The reader's rows; a decoding or CSV error, wherever it comes, is one clear error."""
    try:
        yield from reader
    except UnicodeDecodeError:
        raise Unavailable(f"the CSV file is not {encoding} text",
                          hint="set the 'encoding' setting (e.g. latin-1)") from None
    except csv.Error as exc:
        raise Unavailable(f"the CSV file is malformed at line {reader.line_num} ({exc})",
                          hint="fix that line of the file") from None


def _read(path: Path, limit: int) -> bytes:
    try:
        return read_bounded(path, limit, _WHAT, hint="point 'path' at the CSV file; raise 'max_file_bytes' "
                            "only for a file that big")
    except OSError as exc:
        raise Unavailable(f"{_WHAT} cannot be read ({exc.strerror})",
                          hint="run `raccord check`: it names the file") from None


def _unknown_encoding(encoding: str) -> Unavailable:
    return Unavailable(f"unknown encoding {encoding!r} for the CSV file",
                       hint="set the 'encoding' setting to a Python codec name, e.g. utf-8 or latin-1")


def column_problem(id_column: str, text_column: str, columns: list[str]) -> tuple[str, str] | None:
    """(setting, message) when the id or text column is not in the file: it would serve
    empty ids. The message lists the columns the file has."""
    for setting, column in (("id_column", id_column), ("text_column", text_column)):
        if column not in columns:
            return setting, (f"the CSV file has no column {column!r} ({setting}); "
                             f"its columns: {', '.join(columns)}")
    return None
