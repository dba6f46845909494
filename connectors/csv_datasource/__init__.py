"""csv_datasource: a CSV file as a referential (w.c.s. data source)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import TYPE_CHECKING

from framework import RaccordError, hookimpl, resolve_path

if TYPE_CHECKING:
    from framework import Binding, ConnectorRegister, ConnectorRegistry, Report, Territory


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    from connectors.csv_datasource.connector import CsvDatasource

    register.add(CsvDatasource)


_READ_WITH = ("path", "encoding", "delimiter", "id_column", "text_column", "max_file_bytes")


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    """Look inside each binding's CSV file: its encoding, header and the id and text
    columns the settings name (found by `raccord check`, not by the first caller)."""
    seen: set[tuple[str, ...]] = set()  # a profile's file is reported once, not per instance
    # Every instance of a profile usually reads the same file: it is opened and sniffed
    # once per (file, delimiter, encoding), not once per binding (25,000 at scale).
    tables: dict[tuple[str, str, str, int], list[str] | RaccordError] = {}
    earlier = [f.path for f in report.errors]  # once: report.errors filters every finding
    base_dir = territory.base_dir
    for binding in territory.bindings.values():
        # A value that failed validation is already reported and absent from the binding.
        if (binding.connector.id == "csv_datasource" and all(n in binding.settings for n in _READ_WITH)
                and not _settings_reported(binding, [*earlier, *seen])):
            _check_file(binding, base_dir, report, seen, tables)


def _settings_reported(binding: Binding, errors: list[tuple[str, ...]]) -> bool:
    """A misspelt setting leaves its default in place: that file check would report the
    same mistake a second time."""
    tables = (("profiles", binding.profile.name, "settings"),
              ("instances", binding.instance.name, "settings", binding.profile.name))
    return any(path[:len(t)] == t for path in errors for t in tables)


def _check_file(binding: Binding, base_dir: str, report: Report, seen: set[tuple[str, ...]],
                tables: dict[tuple[str, str, str, int], list[str] | RaccordError]) -> None:
    from connectors.csv_datasource.reader import column_problem

    encoding = str(binding.value("encoding"))
    try:
        codecs.lookup(encoding)
    except LookupError:
        _once(report, seen, binding.setting_path("encoding"), f"unknown encoding {encoding!r}",
              "a Python codec name, e.g. utf-8 or latin-1")
        return
    columns = _columns(tables, base_dir, str(binding.value("path")), str(binding.value("delimiter")), encoding,
                       int(binding.value("max_file_bytes")))
    if isinstance(columns, RaccordError):
        _once(report, seen, binding.setting_path("path"), columns.message, columns.hint)
        return
    problem = column_problem(str(binding.value("id_column")), str(binding.value("text_column")), columns)
    if problem is not None:
        setting, message = problem
        _once(report, seen, binding.setting_path(setting), message, f"set {setting} to one of the columns")


def _columns(tables: dict[tuple[str, str, str, int], list[str] | RaccordError], base_dir: str, path: str,
             delimiter: str, encoding: str, max_bytes: int) -> list[str] | RaccordError:
    """The file's columns (or why it cannot be read), read once per check."""
    from connectors.csv_datasource.reader import read_table

    key = (path, delimiter, encoding, max_bytes)  # one base_dir per territory
    if key not in tables:
        try:
            columns, rows = read_table(Path(resolve_path(base_dir, path)), delimiter, encoding, max_bytes)
            for _ in rows:  # every line decoded and split, as the first call will; nothing kept
                pass
            tables[key] = columns
        except RaccordError as exc:
            tables[key] = exc
    return tables[key]


def _once(report: Report, seen: set[tuple[str, ...]], path: tuple[str, ...], message: str,
          hint: str | None) -> None:
    if path not in seen:
        seen.add(path)
        report.error(path, message, hint=hint)
