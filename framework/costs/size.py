"""The measured size of an override, shown beside its declared days.

Code: the non-blank, non-comment lines of the override module (of every ``.py`` file
of its package when the plugin is a package). Tests: the same count over the files
under ``tests/contrib/<instance>/`` that belong to the module: ``test_<module>*.py``
or anything under a ``<module>/`` folder. Changes: what the module replaces or adds,
from the :class:`~framework.overrides.OverrideBuilder`'s change list.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from framework.config.model import Binding


@dataclass(frozen=True)
class OverrideSize:
    code_lines: int = 0
    test_lines: int = 0
    replaced: tuple[str, ...] = ()  # "endpoint search", "job sync", "extension label"
    added: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    problem: str | None = None  # why the code could not be measured

    @property
    def changes(self) -> int:
        return len(self.replaced) + len(self.added)


def count_lines(path: Path) -> int:
    """Lines of code: not blank, not a ``#`` comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def default_tests_root() -> Path:
    """``tests/contrib`` of the checkout holding the ``contrib`` package."""
    import contrib

    return Path(contrib.__file__).resolve().parent.parent / "tests" / "contrib"


def measure(binding: Binding, tests_root: Path | None = None) -> OverrideSize:
    """Measure the binding's override; an override without code measures zero."""
    decl = binding.override
    if decl is None or decl.plugin is None:
        return OverrideSize()
    builder = binding.applied  # applied once, at load
    if builder is None:
        return OverrideSize(problem=f"override {decl.id}: its code cannot be applied (see `raccord check`)")
    replaced = tuple(_label(c.kind, c.target) for c in builder.changes if not c.kind.startswith("add_"))
    added = tuple(_label(c.kind, c.target) for c in builder.changes if c.kind.startswith("add_"))
    code_files = _module_files(decl.plugin)
    root = tests_root if tests_root is not None else default_tests_root()
    test_files = _test_files(root / decl.instance, decl.plugin.rsplit(".", 1)[-1])
    return OverrideSize(
        code_lines=sum(count_lines(f) for f in code_files),
        test_lines=sum(count_lines(f) for f in test_files),
        replaced=replaced, added=added,
        files=tuple(str(f) for f in (*code_files, *test_files)),
    )


def _label(kind: str, target: str) -> str:
    noun = kind.split("_", 1)[1]  # replace_endpoint → endpoint, set_extension → extension
    return f"{noun} {target}"


def _module_files(dotted: str) -> list[Path]:
    module = importlib.import_module(dotted)  # imported when the override was applied
    file = getattr(module, "__file__", None)
    if file is None:
        return []
    path = Path(file)
    if path.name == "__init__.py":
        return sorted(path.parent.rglob("*.py"))
    return [path]


def _test_files(folder: Path, module: str) -> list[Path]:
    if not folder.is_dir():
        return []
    own = set(folder.glob(f"test_{module}*.py"))
    if (folder / module).is_dir():
        own.update((folder / module).rglob("*.py"))
    return sorted(own)
