"""docs/SECURITY.md maps each threat to the tests that cover it: every test it cites must
exist, or the mapping is a promise nobody keeps.

Citations are written ``tests/path/test_x.py::test_name``, ``test_x.py::test_name`` (the
file's name, unique under tests/), ``::test_name`` or ``…test_name`` / ``…name`` (a test of
the file cited just before on its line; ``…part…``: a test whose name contains it), and
``test_x.py[param, …]`` (the file's parametrised cases);
``bench/x.py`` and ``tests/…`` paths must exist too."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.conftest import ROOT

DOC = ROOT / "docs" / "SECURITY.md"
_CITATION = re.compile(r"(?P<file>(?:tests/[\w/]+/)?test_\w+\.py)?(?:::|…)(?P<name>\w+)(?P<partial>…)?"
                       r"|(?P<alone>(?:tests|bench)/[\w/.]+\.py|\btest_\w+\.py)")


@cache
def _test_files() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        found.setdefault(path.name, []).append(path)
    return found


@cache
def _defined(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def _resolve(cited: str) -> Path | None:
    if "/" in cited:
        path = ROOT / cited
        return path if path.is_file() else None
    candidates = _test_files().get(cited, [])
    return candidates[0] if len(candidates) == 1 else None


def _cites(name: str, defined: frozenset[str]) -> bool:
    """``name`` is defined (``a_name`` may stand for ``test_a_name``; ``part…`` for any
    name containing ``part``)."""
    if name.endswith("…"):
        return any(name[:-1] in d for d in defined)
    return bool({name, f"test_{name}"} & defined)


def citations(text: str) -> list[tuple[str, str | None]]:
    """(file, test name or None) of every citation, in order; a bare ``::name`` takes the
    file cited last on its line; ``…part_of_a_name…`` is kept as ``part_of_a_name…``."""
    found: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        current = ""
        for m in _CITATION.finditer(line):
            if m.group("alone"):
                found.append((m.group("alone"), None))
                if m.group("alone").startswith("tests/"):
                    current = m.group("alone")
                continue
            current = m.group("file") or current
            found.append((current, m.group("name") + (m.group("partial") or "")))
    return found


def test_every_test_cited_exists() -> None:
    cited = citations(DOC.read_text(encoding="utf-8"))
    assert len(cited) > 40
    missing = []
    for file, name in cited:
        path = _resolve(file) if file else None
        if path is None:
            missing.append(f"{file or '(no file)'}::{name}" if name else file)
        elif name is not None and not _cites(name, _defined(path)):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_the_check_sees_a_missing_test() -> None:
    text = ("`tests/framework/gateway/test_fuzz.py::test_every_endpoint_answers_an_envelope`, `::test_gone`, "
            "`test_no_such_file.py::test_x`")
    cited = citations(text)
    assert cited == [("tests/framework/gateway/test_fuzz.py", "test_every_endpoint_answers_an_envelope"),
                     ("tests/framework/gateway/test_fuzz.py", "test_gone"), ("test_no_such_file.py", "test_x")]
    path = _resolve(cited[0][0])
    assert path is not None and "test_gone" not in _defined(path) and _resolve("test_no_such_file.py") is None
