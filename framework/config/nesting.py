"""How deeply a TOML text nests, measured before ``tomllib`` parses it.

``tomllib`` recurses once per level of arrays and inline tables (``a = [[[[…`` a few
hundred deep is a ``RecursionError``) and stores every prefix of a dotted key
(``a.b.c.…`` with 100,000 parts costs gigabytes). This scan reads the text once,
skipping strings and comments, and finds the first line where brackets nest or a
dotted key (or table header) has more parts than :data:`MAX_NESTING`: far beyond any
real configuration (the deepest key of the example is 7 parts), far below what
breaks the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_NESTING = 32

# What matters outside strings: string and comment openers, brackets, key dots, and
# what ends a dotted key (a new line, "=", ",").
_SIGNIFICANT = re.compile(r"\"\"\"|'''|[\"'#\[\]{}.=,\n]")
_BASIC_END = re.compile(r'(?:[^"\\\n]|\\.)*"')
_MULTI_BASIC_END = re.compile(r'(?:[^"\\]|\\.|"(?!""))*""""{0,2}', re.DOTALL)
_MULTI_LITERAL_END = re.compile(r"(?:[^']|'(?!''))*'''\'{0,2}", re.DOTALL)


@dataclass(frozen=True)
class TooDeep:
    line: int
    message: str
    hint: str


def too_deep(text: str, limit: int = MAX_NESTING) -> TooDeep | None:
    """The first place ``text`` nests deeper than ``limit``, or None."""
    line, depth, dots, pos = 1, 0, 0, 0
    while (m := _SIGNIFICANT.search(text, pos)) is not None:
        token, pos = m.group(), m.end()
        if token in ('"', '"""', "'''"):
            end = _string_end(text, pos, token)
            line += text.count("\n", pos, end)
            pos = end
        elif token == "'":
            end = text.find("'", pos)
            newline = text.find("\n", pos)
            pos = len(text) if end < 0 else end + 1
            if 0 <= newline < pos:  # unterminated: tomllib reports it; resume on the next line
                pos = newline
        elif token == "#":
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
        elif token == ".":
            dots += 1
            if dots >= limit:
                return TooDeep(line, f"a dotted key or table header of more than {limit} parts",
                               f"keep keys under {limit} parts; is this the right file?")
        elif token in "[{":
            depth, dots = depth + 1, 0
            if depth > limit:
                return TooDeep(line, f"arrays or inline tables nested deeper than {limit} levels",
                               f"keep nesting under {limit} levels; is this the right file?")
        else:
            if token in "]}":
                depth = max(0, depth - 1)
            elif token == "\n":
                line += 1
            dots = 0
    return None


def _string_end(text: str, pos: int, quote: str) -> int:
    """Where the string opened by ``quote`` just before ``pos`` ends (past its closing
    quote); an unterminated one ends at its line's end, or the text's for multi-line."""
    pattern = {'"': _BASIC_END, '"""': _MULTI_BASIC_END, "'''": _MULTI_LITERAL_END}[quote]
    m = pattern.match(text, pos)
    if m is not None:
        return m.end()
    if quote == '"':
        newline = text.find("\n", pos)
        return len(text) if newline < 0 else newline
    return len(text)
