"""Fixtures: the loopback SOAP server, a canary listener, territories using them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.app import Raccord
from framework.soap import cache
from framework.testing import make_raccord
from tests.connectors.soap.soap_server import Canary, SoapServer

ROOT = Path(__file__).resolve().parents[3]
CALCULATOR_WSDL = ROOT / "tests" / "data" / "wsdl" / "calculator.wsdl"


@pytest.fixture(scope="module")
def server() -> Iterator[SoapServer]:
    srv = SoapServer().start()
    yield srv
    srv.stop()


@pytest.fixture()
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.stop()


@pytest.fixture(autouse=True)
def fresh_wsdl_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def territory(*blocks: str) -> str:
    head = "[territory]\nname = \"Test\"\n\n"
    return head + "\n".join(textwrap.dedent(b) for b in blocks)


@pytest.fixture()
def calc_wsdl(tmp_path: Path) -> Path:
    target = tmp_path / "calculator.wsdl"
    shutil.copy(CALCULATOR_WSDL, target)
    return target


def calculator_raccord(tmp_path: Path, address: str, *, extra: str = "", timeout: float = 5.0) -> Raccord:
    text = territory(f"""
        [profiles.calc]
        connector = "soap"
        [profiles.calc.settings]
        wsdl = "calculator.wsdl"
        port = "CalculatorSoap"
        read_timeout = {timeout}
        {extra}

        [instances.metropole]
        name = "Métropole"
        kind = "metropole"
        profiles = ["calc"]

        [instances.metropole.settings.calc]
        address = "{address}"
        """)
    return make_raccord(text, tmp_path)
