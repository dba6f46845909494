"""Where a configured path points: the one rule for every relative path in
``instances.toml`` (secret files, CSV files, CA bundles, WSDLs, SQLite databases)."""

from __future__ import annotations

from pathlib import Path


def resolve_path(base_dir: str, value: str) -> str:
    """A relative path is relative to ``instances.toml``'s directory ``base_dir``, never
    to the current directory (which differs between ``check`` and ``serve``)."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() or not base_dir else Path(base_dir) / path)
