"""The request's query string, parsed once per call.

The signature check (the auth parameters of the signed part) and the endpoint's
parameters read the same pairs, so the query is parsed once, memoised in the WSGI
environ, by :func:`parse`: ``urllib.parse.parse_qsl(query, keep_blank_values=True)``'s
result without its per-field overhead (it was ~6 % of an in-process signed call:
argument coercion and an ``unquote`` call per key and value, most of which hold no
``%``); tests check both agree on any string.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

_KEY = "raccord.query_pairs"


def query_pairs(environ: MutableMapping[str, Any]) -> list[tuple[str, str]]:
    """``QUERY_STRING`` as (name, value) pairs, in order, blank values kept."""
    pairs: list[tuple[str, str]] | None = environ.get(_KEY)
    if pairs is None:
        pairs = parse(str(environ.get("QUERY_STRING", "")))
        environ[_KEY] = pairs
    return pairs


def parse(query: str) -> list[tuple[str, str]]:
    """``parse_qsl(query, keep_blank_values=True)``: ``&``-separated, ``+`` is a space,
    percent-escapes decoded as UTF-8 (invalid bytes replaced), empty fields skipped."""
    pairs = []
    for field in query.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_decode(name), _decode(value)))
    return pairs


def _decode(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text
