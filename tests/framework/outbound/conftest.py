"""Fixtures of the outbound tests: the hostile server (tests/framework/outbound/hostile.py)
and a second one its redirects point to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.framework.outbound.hostile import HostileServer


@pytest.fixture(scope="module")
def other() -> Iterator[HostileServer]:
    """The second server a redirect points to: it records whatever reaches it."""
    with HostileServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def hostile(other: HostileServer) -> Iterator[HostileServer]:
    """The hostile server; its cross-host redirects point to ``other``."""
    with HostileServer(redirect_to=other.url) as srv:
        yield srv
