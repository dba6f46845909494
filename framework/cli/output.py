"""What every listing command prints: a table that fits, or stable JSON.

Tables: as wide as the terminal on a terminal; when piped, as wide as ``COLUMNS`` if
set, else as wide as their content (a script reading ``raccord status | grep`` gets
whole lines). Identifier columns (instance, profile, binding, job id…) never wrap nor
lose characters: if the terminal is too narrow for them, the table grows past it
rather than cut a name; free text (reasons, errors) wraps.

JSON: one object per command, ``{"command": …, "format_version": 1, …}``; its fields
are documented in docs/cli.md and only ever added to within a format version.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import click

FORMAT_VERSION = 1
F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str) -> Callable[[F], F]:
    """``--format table|json`` (plus a command's own formats, e.g. csv, html)."""
    names = ("table", "json", *choices)
    return click.option("--format", "fmt", type=click.Choice(names), default="table", show_default=True,
                        help="table for people, json for scripts (docs/cli.md)")


def emit_json(command: str, data: dict[str, Any]) -> None:
    payload = {"command": command, "format_version": FORMAT_VERSION, **data}
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


@dataclass(frozen=True)
class Col:
    """A column: ``ident`` columns hold names that must never be cut."""

    name: str
    ident: bool = False
    right: bool = False


def terminal_width() -> int | None:
    """The width to fit: the terminal's, else ``COLUMNS``, else None (content width)."""
    if sys.stdout.isatty():
        import shutil  # it imports the compression modules: only for a terminal

        return shutil.get_terminal_size((100, 24)).columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def render_table(columns: Sequence[Col], rows: Sequence[Sequence[str]], *, title: str | None = None,
                 width: int | None = None, markup: bool = False) -> str:
    """The table as text, ``width`` wide at most unless its identifiers need more.

    Boxed when that fits; otherwise without vertical rules (narrow terminals); wider
    than asked only when even that cannot hold the identifiers."""
    from rich.console import Console

    wanted = width if width is not None else terminal_width()
    probe = Console(file=io.StringIO(), width=100_000, color_system=None)
    for compact in (False, True):
        table = _table(columns, rows, title, compact)
        minimum, maximum = _measure(probe, table)
        if wanted is None or minimum <= wanted:
            break
    final = maximum if wanted is None else max(wanted, minimum)
    console = Console(file=io.StringIO(), width=final, color_system=None, markup=markup,
                      force_terminal=False, soft_wrap=False)
    console.print(table)
    out = console.file
    assert isinstance(out, io.StringIO)
    return "\n".join(line.rstrip() for line in out.getvalue().split("\n"))


def table_fits(columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int | None) -> bool:
    """Whether the table fits ``width`` (the terminal's if None) without growing past it."""
    from rich.console import Console

    wanted = width if width is not None else terminal_width()
    if wanted is None:
        return True
    probe = Console(file=io.StringIO(), width=100_000, color_system=None)
    return _measure(probe, _table(columns, rows, None, True))[0] <= wanted


def _table(columns: Sequence[Col], rows: Sequence[Sequence[str]], title: str | None, compact: bool) -> Any:
    from rich import box
    from rich.table import Table

    table = (Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                   collapse_padding=True)
             if compact else Table(title=title, title_justify="left"))
    for col, longest in zip(columns, _longest(columns, rows), strict=True):
        justify: Literal["left", "right"] = "right" if col.right else "left"
        if col.ident:
            table.add_column(col.name, no_wrap=True, min_width=longest, justify=justify)
        else:
            table.add_column(col.name, overflow="fold", justify=justify)
    for row in rows:
        table.add_row(*row)
    return table


def _measure(console: Any, table: Any) -> tuple[int, int]:
    from rich.measure import Measurement

    measured = Measurement.get(console, console.options, table)
    return measured.minimum, measured.maximum


def echo_table(columns: Sequence[Col], rows: Sequence[Sequence[str]], *, title: str | None = None,
               width: int | None = None) -> None:
    click.echo(render_table(columns, rows, title=title, width=width), nl=False)


def _longest(columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> list[int]:
    result = []
    for index, col in enumerate(columns):
        if not col.ident:
            result.append(0)
            continue
        cells = [len(line) for row in rows for line in str(row[index]).splitlines()]
        result.append(max([*(len(w) for w in col.name.splitlines()), *cells]))
    return result
