"""A CSV file held in memory once per process, in proportion to what it holds.

Every binding whose ``path`` names the same file (with the same delimiter, encoding
and text column) shares one :class:`Table`, re-read when the file changes. The table
is columnar: one list of cells per column, each cell a string shared with every equal
cell of the file (a commune's name, a postcode, an empty suffix is one object however
many rows repeat it). An item's dictionary is only built for the rows an answer
returns. A 47 MB address file went from 680 MiB (a dictionary per row, twice) to the
figures of docs/benchmarks/csv_memory.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.csv_datasource.reader import read_table
from framework import FileRefused, fold

_PROBE_ROWS = 4096  # rows read before deciding which columns repeat
_DISTINCT = 0.5  # above this share of distinct values, a column is not shared


class Table:
    """The columns of one CSV file, and each row's folded text (what ``q`` searches)."""

    __slots__ = ("_index", "cells", "columns", "folded", "size")

    def __init__(self, columns: Sequence[str], rows: Iterable[list[str]], text_column: str, size: int) -> None:
        self.columns = list(columns)
        self.size = size  # bytes of the file it was read from
        self.cells: list[list[str]] = [[] for _ in self.columns]
        self.folded: list[str] = []
        # The last column of a name wins, as it did with one dictionary per row.
        self._index = {name: i for i, name in enumerate(self.columns)}
        text = self._index.get(text_column)
        # Equal cells become one object, column by column; a column that proves mostly
        # distinct (ids, coordinates) stops being looked up: its dictionary would cost
        # more, during the load, than it saves.
        shared: list[dict[str, str] | None] = [{} for _ in self.columns]
        folded_shared: dict[str, str] | None = {}  # text → its folded form
        appenders = [column.append for column in self.cells]
        for count, row in enumerate(rows, start=1):
            for append, cell, seen in zip(appenders, row, shared, strict=True):  # rows are padded
                append(cell if seen is None else seen.setdefault(cell, cell))
            if text is not None:
                self.folded.append(self._fold(row[text], folded_shared))
            if count == _PROBE_ROWS:
                shared = [None if seen is None or len(seen) > _DISTINCT * count else seen for seen in shared]
                if folded_shared is not None and len(folded_shared) > _DISTINCT * count:
                    folded_shared = None

    @staticmethod
    def _fold(text: str, seen: dict[str, str] | None) -> str:
        """``fold(text)``, computed once per distinct text while they repeat."""
        if seen is None:
            return fold(text)
        folded = seen.get(text)
        if folded is None:
            folded = seen[text] = fold(text)
        return folded

    def __len__(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def column(self, name: str) -> list[str] | None:
        index = self._index.get(name)
        return None if index is None else self.cells[index]

    def item(self, row: int, id_column: str, text_column: str) -> dict[str, Any]:
        """Row ``row`` as a data-source item: every column, then ``id`` and ``text``."""
        item: dict[str, Any] = {name: self.cells[i][row] for name, i in self._index.items()}
        item["id"] = item.get(id_column, "")
        item["text"] = item.get(text_column, "")
        return item


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, ...]
    table: Table


_tables: dict[tuple[str, ...], _Entry] = {}
_locks: dict[tuple[str, ...], threading.Lock] = {}
_guard = threading.Lock()


def shared_table(path: Path, delimiter: str, encoding: str, text_column: str, limit: int) -> Table:
    """The table of ``path``, loaded once per process and again when the file changes
    (its inode, size or modification time differ)."""
    key = (os.path.realpath(path), delimiter, encoding, text_column)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one load per file at a time; other files load meanwhile
        stamp = _stamp(path)
        entry = _tables.get(key)
        if entry is None or entry.stamp != stamp or stamp == ():
            columns, rows = read_table(path, delimiter, encoding, limit)
            entry = _Entry(stamp, Table(columns, rows, text_column, _size(stamp)))
            _tables[key] = entry
    if entry.table.size > limit:  # loaded for a binding allowing more than this one
        raise FileRefused(f"the CSV file of the 'path' setting is {entry.table.size:,} bytes, over the "
                          f"{limit:,}-byte limit", hint="raise 'max_file_bytes' only for a file that big")
    return entry.table


def _stamp(path: Path) -> tuple[int, ...]:
    try:
        info = os.stat(path)
    except OSError:
        return ()  # read_table reports why
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _size(stamp: tuple[int, ...]) -> int:
    return stamp[2] if stamp else 0


def clear() -> None:
    """Forget every table (tests)."""
    with _guard:
        _tables.clear()
