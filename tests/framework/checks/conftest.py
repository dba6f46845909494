"""Override modules for the ledger tests live in a temporary folder added to the
``contrib`` package's path, so ``contrib.testville.paiement`` imports from tmp_path
(the loader only accepts override code under ``contrib.``) and nothing is left in the
repository's contrib/ or in sys.modules afterwards."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def contrib_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    import contrib

    root = tmp_path / "contrib_extra"
    root.mkdir()
    monkeypatch.setattr(contrib, "__path__", [*contrib.__path__, str(root)])
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("contrib."):
            del sys.modules[name]


def write_override(root: Path, dotted: str, body: str) -> Path:
    """Write ``contrib.<instance>.<module>`` under ``root`` and make it importable."""
    _, instance, module = dotted.split(".")
    package = root / instance
    package.mkdir(exist_ok=True)
    (package / "__init__.py").touch()
    path = package / f"{module}.py"
    path.write_text(body, encoding="utf-8")
    importlib.invalidate_caches()
    return path
