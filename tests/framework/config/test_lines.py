"""The line index follows brackets and multi-line strings across lines, whatever the
strings and comments on a line contain (it finds `key =` lines that tomllib parsed)."""

from __future__ import annotations

import pytest

from framework.config.lines import LineIndex, _track


@pytest.mark.parametrize(("line", "depth", "expected"), [
    ('a = "x[y" # [', 0, (0, None)),          # a bracket in a string or a comment does not count
    ("b = '''abc", 0, (0, "'''")),            # a multi-line string starts
    ('c = """x""" [', 0, (1, None)),          # ... or opens and closes on the line
    ('d = ["a", "b\\"]", {x = 1}]', 0, (0, None)),  # an escaped quote stays in its string
    ("e = 'lit\\' [", 1, (2, None)),          # no escapes in a literal string
    ('f = "unterminated [', 0, (0, None)),    # an unterminated string runs to the line's end
    ("]]", 1, (0, None)),                     # never below 0
    ("[[x]]", 0, (0, None)),
    ("g = [", 0, (1, None)),
])
def test_track(line: str, depth: int, expected: tuple[int, str | None]) -> None:
    assert _track(line, depth) == expected


def test_keys_inside_multiline_values_are_not_keys() -> None:
    index = LineIndex('[t]\na = [\n  "x = 1",\n]\ns = """\nb = 2\n"""\nc = 3\n')
    assert (index.line(("t", "a")), index.line(("t", "c"))) == (2, 8)
    assert index.line(("t", "x")) == 1 and index.line(("t", "b")) == 1  # the nearest written ancestor
