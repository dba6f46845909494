"""The csv_datasource connector class."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connectors.csv_datasource.reader import column_problem
from connectors.csv_datasource.table import Table, shared_table
from framework import BadRequest, Call, Connector, NotFound, Param, Setting, Unavailable, endpoint, fold


class CsvDatasource(Connector):
    """Serve a CSV file as a w.c.s. data source: ``{id, text, …columns}`` items,
    filtered by ``q`` (words in the text) and ``id``, plus named queries declared in
    configuration (a column filter given a name).

    Memory: each file is held once per process, shared by every binding on it, as
    columns of shared strings (a 47 MB address file: about 155 MiB, for any number of
    bindings; see connectors/csv_datasource/README.md and docs/benchmarks/csv_memory.md).
    A FIFO, a device or a file over ``max_file_bytes`` is refused, never read."""

    id = "csv_datasource"
    title = "CSV referential"

    path = Setting(str, description="the CSV file", variability="instance", path="file")
    id_column = Setting(str, "id", "column holding each row's identifier")
    text_column = Setting(str, "text", "column holding each row's label")
    delimiter = Setting(str, "auto", "column separator: ',', ';', a tab, or 'auto' to detect it",
                        pattern=r"auto|.")
    encoding = Setting(str, "utf-8", "the file's text encoding")
    queries = Setting(dict, {}, "named queries: { name = { column = value, … } }; "
                      "served by the 'query' endpoint")
    max_file_bytes = Setting(int, 256 * 1024 * 1024, "largest CSV file read, in bytes (a bigger one, "
                             "a FIFO or a device is refused, never read)", variability="instance",
                             min=1, max=4 * 1024 * 1024 * 1024)

    def _file(self) -> Path:
        return Path(self.path)  # resolved against instances.toml's directory

    def _load(self) -> Table:
        """The file's table, shared with every binding on the same file and re-read
        when the file changes."""
        table = shared_table(self._file(), self.delimiter, self.encoding, self.text_column,
                             self.max_file_bytes)
        if (problem := column_problem(self.id_column, self.text_column, table.columns)) is not None:
            # `raccord check` reports it; here the file changed since: 503, no path.
            raise Unavailable(problem[1], hint="run `raccord check`")
        return table

    def rows(self) -> list[dict[str, Any]]:
        """All items, re-read when the file changes."""
        table = self._load()
        return [table.item(i, self.id_column, self.text_column) for i in range(len(table))]

    def _answer(self, table: Table, rows: Sequence[int], call: Call) -> list[dict[str, Any]]:
        """Rows (indices) filtered by the call's id and q, cut to its limit, as items."""
        id_, q, limit = call.params.get("id"), call.params.get("q"), call.params.get("limit")
        if limit is not None and limit < 0:
            raise BadRequest("parameter 'limit' must not be negative")
        if id_:
            wanted = set(id_)  # w.c.s. sends a list as repeated keys: id=57463&id=57480
            ids = table.column(self.id_column) or []
            rows = [i for i in rows if ids[i] in wanted]
        if q:
            folded = table.folded
            for word in fold(q).split():  # every word, accents and case ignored
                rows = ([i for i, text in enumerate(folded) if word in text] if rows == range(len(table))
                        else [i for i in rows if word in folded[i]])
        if limit is not None:
            rows = rows[:limit]
        return [table.item(i, self.id_column, self.text_column) for i in rows]

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
        table = self._load()
        return self._answer(table, range(len(table)), call)

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
        table = self._load()
        rows: Sequence[int] = range(len(table))
        for column, value in criteria.items():
            cells, wanted = table.column(str(column)), str(value)
            rows = [i for i in rows if (cells[i] if cells is not None else "") == wanted]
        return self._answer(table, rows, call)

