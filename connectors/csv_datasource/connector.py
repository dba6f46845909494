"""The csv_datasource connector class."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from connectors.csv_datasource.reader import read_rows
from framework import BadRequest, Call, Connector, NotFound, Param, Setting, endpoint
from framework.errors import ConfigError
from framework.storage.records import fold


class CsvDatasource(Connector):
    """Serve a CSV file as a w.c.s. data source: ``{id, text, …columns}`` items,
    filtered by ``q`` (words in the text) and ``id``, plus named queries declared in
    configuration (a column filter given a name)."""

    id = "csv_datasource"
    title = "CSV referential"

    path = Setting(str, description="path of the CSV file (relative to instances.toml)",
                   variability="instance")
    id_column = Setting(str, "id", "column holding each row's identifier")
    text_column = Setting(str, "text", "column holding each row's label")
    delimiter = Setting(str, "auto", "column separator: ',', ';', a tab, or 'auto' to detect it")
    encoding = Setting(str, "utf-8", "the file's text encoding")
    queries = Setting(dict, {}, "named queries: { name = { column = value, … } }; "
                      "served by the 'query' endpoint")

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._rows: list[dict[str, Any]] | None = None
        self._folded: dict[int, str] = {}
        self._mtime = 0.0
        self._lock = threading.Lock()

    def _file(self) -> Path:
        path = Path(self.settings.path)
        return path if path.is_absolute() else Path(self.ctx.base_dir) / path

    def rows(self) -> list[dict[str, Any]]:
        """All items, re-read when the file changes."""
        return self._load()[0]

    def _load(self) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """Items and their folded texts, as one consistent pair."""
        file = self._file()
        try:
            mtime = file.stat().st_mtime
        except OSError:
            mtime = -1.0
        with self._lock:
            if self._rows is None or mtime != self._mtime:
                raw = read_rows(file, self.settings.delimiter, self.settings.encoding)
                self._check_columns(file, raw)
                self._rows = [self._item(r) for r in raw]
                # Folded once per load, not once per row per call: q filters stay cheap.
                self._folded = {id(item): fold(str(item["text"])) for item in self._rows}
                self._mtime = mtime
            return self._rows, self._folded

    @staticmethod
    def _filter(rows: list[dict[str, Any]], folded: dict[int, str], call: Call) -> list[dict[str, Any]]:
        id_, q, limit = call.params.get("id"), call.params.get("q"), call.params.get("limit")
        if limit is not None and limit < 0:
            raise BadRequest("parameter 'limit' must not be negative")
        if id_:
            wanted = set(id_)  # w.c.s. sends a list as repeated keys: id=57463&id=57480
            rows = [r for r in rows if str(r["id"]) in wanted]
        if q:
            words = fold(q).split()
            rows = [r for r in rows if all(w in folded.get(id(r), "") for w in words)]
        return rows if limit is None else rows[:limit]

    def _check_columns(self, file: Path, rows: list[dict[str, str]]) -> None:
        """An id or text column the file lacks would serve empty ids: say so instead."""
        if not rows:
            return
        for setting in ("id_column", "text_column"):
            column = self.settings[setting]
            if column not in rows[0]:
                raise ConfigError(f"CSV file {file} has no column {column!r} ({setting})",
                                  hint=f"its columns: {', '.join(rows[0])}; set {setting} to one of them")

    def _item(self, row: dict[str, str]) -> dict[str, Any]:
        item: dict[str, Any] = dict(row)
        item["id"] = row.get(self.settings.id_column, "")
        item["text"] = row.get(self.settings.text_column, "")
        return item

    @endpoint(
        # A referential published as a data source, read-only: open by default; a
        # profile serving a non-public file closes it with an access rule.
        permission="open",
        description="Rows of the CSV file as data-source items, filtered by q and id.",
        params=[
            Param("q", str, "words the item's text must contain (accents and case ignored)", "metz"),
            Param("id", list, "identifiers of the items wanted (repeat id= or separate with commas)", "57463"),
            Param("limit", int, "at most this many items", 20),
        ],
        datasource=True,
    )
    def data(self, call: Call) -> list[dict[str, Any]]:
        rows, folded = self._load()
        return self._filter(rows, folded, call)

    @endpoint(
        permission="open",
        description="A named query declared in the 'queries' setting, then q and id filters.",
        params=[
            Param("name", str, "the named query", "communes_nord", required=True),
            Param("q", str, "words the item's text must contain", "ars"),
            Param("id", list, "identifiers of the items wanted (repeat id= or separate with commas)"),
            Param("limit", int, "at most this many items", 20),
        ],
        datasource=True,
    )
    def query(self, call: Call) -> list[dict[str, Any]]:
        name = call.params["name"]
        queries = self.settings.queries
        if name not in queries:
            known = ", ".join(sorted(queries)) or "none declared"
            raise NotFound(f"no named query {name!r}", hint=f"queries: {known}")
        criteria = queries[name]
        if not isinstance(criteria, dict):
            raise BadRequest(f"query {name!r} is not a table of column = value")
        rows, folded = self._load()
        rows = [r for r in rows if all(str(r.get(k, "")) == str(v) for k, v in criteria.items())]
        return self._filter(rows, folded, call)

