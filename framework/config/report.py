"""Findings of ``raccord check``: every error at once, each with file:line and a hint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from framework.config.lines import LineIndex, Path

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    level: Level
    path: Path
    message: str
    hint: str | None
    file: str
    line: int | None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.dotted}:" if self.path else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}:{key} {self.message}{hint}"


class Report:
    """Collects findings; never raises, so one run reports everything."""

    def __init__(self, file: str, lines: LineIndex | None = None) -> None:
        self.file = file
        self.lines = lines
        self.findings: list[Finding] = []

    def add(self, level: Level, path: Iterable[str], message: str, hint: str | None = None,
            line: int | None = None) -> None:
        key = tuple(path)
        if line is None and self.lines is not None:
            line = self.lines.line(key)
        self.findings.append(Finding(level, key, message, hint, self.file, line))

    def error(self, path: Iterable[str], message: str, hint: str | None = None) -> None:
        self.add("error", path, message, hint)

    def warning(self, path: Iterable[str], message: str, hint: str | None = None) -> None:
        self.add("warning", path, message, hint)

    def info(self, path: Iterable[str], message: str, hint: str | None = None) -> None:
        self.add("info", path, message, hint)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (f.line or 0, f.dotted))


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean …?" hint for a misspelt key or name, or None."""
    import difflib  # only for a misspelling: a clean check never needs it

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None
