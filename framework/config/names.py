"""Instance and profile names: they are URL path segments, ``/<instance>/<profile>/…``.

A name must be a plain segment (lower-case letters, digits, ``-``, ``_``, starting
with a letter or digit: never ``_…`` or ``.…``, kept for the service) and must not be
one the gateway serves itself at that level (:mod:`framework.gateway.routes`): an
instance called ``metrics`` would have Prometheus text for its index page.
"""

from __future__ import annotations

import re

from framework.gateway.routes import INSTANCE_LEVEL, TOP_LEVEL

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")
RESERVED_INSTANCE_NAMES = frozenset(TOP_LEVEL)
RESERVED_PROFILE_NAMES = frozenset(INSTANCE_LEVEL)


def name_problem(kind: str, name: str) -> tuple[str, str] | None:
    """(message, hint) when ``name`` cannot be an instance's (``kind="instance"``) or a
    profile's name, else None."""
    reserved = RESERVED_INSTANCE_NAMES if kind == "instance" else RESERVED_PROFILE_NAMES
    where = "/<instance>/" if kind == "instance" else "/<instance>/<profile>/"
    if name in reserved:
        served = f"/{name}" if kind == "instance" else f"/<instance>/{name}"
        return (f"{kind} name {name!r} is a path the gateway serves itself ({served})",
                f"rename it (the gateway's own paths: {', '.join(sorted(reserved))})")
    if not _SEGMENT.fullmatch(name):
        return (f"{kind} name {name!r} must be lower-case letters, digits, - or _, starting with a "
                "letter or a digit", f"it appears in URLs: {where}")
    return None
