"""Where each key of a TOML document is written: dotted path → line number.

``tomllib`` gives values but no positions, so this scans the text once for table
headers and ``key =`` lines. It understands quoted and dotted keys, ``[[arrays]]``
and values spanning lines; a key inside an inline table maps to the line of the key
that holds the table, which is what an admin needs to find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Path = tuple[str, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"' + r"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY)


def split_key(dotted: str) -> Path:
    """``a."b.c".d`` → ``("a", "b.c", "d")``."""
    return tuple(_unquote(m.group(0)) for m in _PART.finditer(dotted))


def _unquote(part: str) -> str:
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part


class LineIndex:
    """Dotted path → 1-based line, with the nearest written ancestor as fallback."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}
        self._scan(text)

    def _scan(self, text: str) -> None:
        table: Path = ()
        for number, line in _logical_lines(text):
            if m := _HEADER.match(line):
                table = split_key(m.group(2))
                if m.group(1) == "[[":
                    index = self._arrays.get(table, -1) + 1
                    self._arrays[table] = index
                    table = (*table, str(index))
                self._remember(table, number)
            elif m := _ASSIGN.match(line):
                self._remember((*table, *split_key(m.group(1))), number)

    def _remember(self, path: Path, number: int) -> None:
        for depth in range(1, len(path) + 1):
            self._lines.setdefault(path[:depth], number)
        self._lines[path] = number

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor written in the file."""
        for depth in range(len(path), 0, -1):
            found = self._lines.get(path[:depth])
            if found is not None:
                return found
        return None


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) for lines that start a key or header.

    Lines inside multi-line strings or arrays are skipped so that their content is
    never mistaken for a key.
    """
    depth = 0
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if in_multiline in line:
                in_multiline = None
            continue
        if depth == 0:
            yield number, line
        depth, in_multiline = _track(line, depth)


#: What matters to the bracket depth of a line: a comment, a triple quote, a whole (or
#: unterminated) string, a bracket. One regular-expression search per token rather than
#: a Python step per character: the character loop was slower than tomllib's own parse.
_TOKEN = re.compile(r"""#|\"\"\"|'''|"(?:[^"\\]|\\.)*"?|'[^']*'?|[\[\]{}]""")


def _track(line: str, depth: int) -> tuple[int, str | None]:
    """Follow brackets and triple quotes across a line, ignoring strings and comments."""
    pos = 0
    while (m := _TOKEN.search(line, pos)) is not None:
        token, pos = m.group(0), m.end()
        if token == "#":
            break
        if token in ('"""', "'''"):
            end = line.find(token, pos)
            if end < 0:
                return depth, token
            pos = end + 3
        elif token in "[{":
            depth += 1
        elif token in "]}":
            depth = max(0, depth - 1)
    return depth, None
