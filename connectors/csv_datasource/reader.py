"""Reading a CSV file into rows, with clear errors for a missing or malformed file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from framework.errors import ConfigError, Unavailable


def read_rows(path: Path, delimiter: str, encoding: str) -> list[dict[str, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Unavailable(f"CSV file {path} cannot be read ({exc.strerror})",
                          hint="check the 'path' setting") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise ConfigError(f"CSV file {path} is not {encoding} text",
                          hint="set the 'encoding' setting (e.g. latin-1)") from None
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r} for CSV file {path}",
                          hint="set the 'encoding' setting to a Python codec name, e.g. utf-8 or latin-1") from None
    sample = text[:4096]
    if delimiter != "auto" and len(delimiter) != 1:
        raise ConfigError(f"delimiter {delimiter!r} of CSV file {path} is not one character",
                          hint="set the 'delimiter' setting to ',', ';', a tab, or 'auto'")
    if delimiter == "auto":
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    if not reader.fieldnames:
        raise ConfigError(f"CSV file {path} has no header line", hint="the first line must name the columns")
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
