from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.app import Raccord
from tests.framework.runtime.helpers import open_raccord, write_territory

TOKEN = "s3cr3t-t0ken-value"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_TEST_TOKEN", TOKEN)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_territory(tmp_path)


@pytest.fixture
def raccord(config: Path, database_url: str) -> Iterator[Raccord]:
    r = open_raccord(config, database_url)
    yield r
    r.close()
