"""One group of installed entry points, read without importing importlib.metadata.

importlib.metadata imports the email package (to parse METADATA files), zipfile, csv
and importlib.resources: 12–15 ms of every ``raccord check``, for entry points that
only need each distribution's ``entry_points.txt``. This reader finds them where and
in the order importlib.metadata does (Python 3.11's ``MetadataPathFinder``): every
directory of ``sys.path`` in turn, its ``*.dist-info`` and ``*.egg-info`` folders
grouped by normalised name in listing order, the first distribution of a name hiding
any later one. Whatever it does not reproduce — a zip or an ``.egg`` on ``sys.path``,
an import hook that provides distributions itself, a metadata folder whose name
does not say the distribution's — makes it hand the question to importlib.metadata,
so the plugins found are always the ones ``importlib.metadata.entry_points`` finds
(tests/framework/test_entrypoints.py compares the two).
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Iterable

_SUFFIXES = (".dist-info", ".egg-info")
#: importlib.metadata's syntax of a value: ``module[:attr.attr][ [extras]]``
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class EntryPoint:
    """What :mod:`framework.plugins` uses of an entry point: its name, value and load()."""

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name, self.value, self.group = name, value, group

    def load(self) -> object:
        """The module, or the object its ``:attr.attr`` names (importlib.metadata's rule)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"{self.value!r} is not an entry point's value (module:attribute)")
        module: object = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` of every installed distribution, in importlib.metadata's order."""
    found = _read(group, sys.path)
    if found is None:
        from importlib import metadata

        return [EntryPoint(ep.name, ep.value, ep.group) for ep in metadata.entry_points(group=group)]
    return found


def _read(group: str, paths: Iterable[str]) -> list[EntryPoint] | None:
    """None when something on the path needs importlib.metadata's own reading."""
    if not _only_the_path_finder():
        return None
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for root in paths:
        folders = _metadata_folders(root) if isinstance(root, str) else None
        if folders is None:
            return None
        for name, folder in folders:
            if name in seen:
                continue
            seen.add(name)
            entries = _parse(_text(os.path.join(root, folder, "entry_points.txt")), group)
            if entries is None:
                return None
            found += entries
    return found


def _only_the_path_finder() -> bool:
    from importlib.machinery import PathFinder

    return all(finder is PathFinder or getattr(finder, "find_distributions", None) is None
               for finder in sys.meta_path)


def _metadata_folders(root: str) -> list[tuple[str, str]] | None:
    """``(normalised name, folder)`` of one sys.path entry, grouped by name as importlib.metadata
    groups them; None for what this reader does not read (a zip, an egg, an odd name)."""
    if os.path.basename(root).lower().endswith(".egg"):
        return None
    try:
        children = os.listdir(root or ".")
    except OSError:
        return None if os.path.exists(root or ".") else []  # a zip; a missing entry has nothing
    groups: dict[str, list[str]] = {}
    for child in children:
        low = child.lower()
        if not low.endswith(_SUFFIXES):
            continue
        if not child.endswith(_SUFFIXES):
            return None  # "Foo.DIST-INFO": importlib.metadata would read its METADATA for the name
        groups.setdefault(_normalise(low.rpartition(".")[0].partition("-")[0]), []).append(child)
    return [(name, child) for name, children_of in groups.items() for child in children_of]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return ""


def _parse(text: str, group: str) -> list[EntryPoint] | None:
    """``[group]`` sections' ``name = value`` lines (importlib.metadata's ``Sectioned``); None
    for a line of a section without ``=``, which importlib.metadata refuses (ValueError)."""
    section: str | None = None
    found = []
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue  # before any section: importlib.metadata skips it
        name, equals, value = line.partition("=")
        if not equals:
            return None
        if section == group:
            found.append(EntryPoint(name.strip(), value.strip(), section))
    return found
