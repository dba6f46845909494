"""One parsed WSDL for every binding; WSDLs from a URL are fetched once and cached on disk."""

from __future__ import annotations

from pathlib import Path

from framework.soap import cache
from framework.testing import call, make_raccord
from tests.connectors.soap.soap_server import SoapServer
from tests.connectors.soap.support import CALCULATOR_WSDL, territory


def many_instances(count: int, wsdl: str, server: SoapServer, extra: str = "") -> str:
    blocks = [f"""
        [profiles.calc]
        connector = "soap"
        [profiles.calc.settings]
        wsdl = "{wsdl}"
        {extra}
        """]
    for i in range(count):
        blocks.append(f"""
        [instances.c{i}]
        name = "Commune {i}"
        profiles = ["calc"]
        [instances.c{i}.settings.calc]
        address = "{server.url}/calc?commune={i}"
        """)
    return territory(*blocks)


def test_46_bindings_share_one_parse(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = make_raccord(many_instances(46, "calculator.wsdl", server), tmp_path)
    try:
        services = [r.bound(f"c{i}", "calc").connector.service for i in range(46)]  # type: ignore[attr-defined]
        assert call(r, "c45/calc/call", method="POST", path="Add", body={"intA": 4, "intB": 5}) == 9
    finally:
        r.close()
    assert cache.stats.parses == 1 and cache.stats.hits == 45
    assert all(s.document is services[0].document for s in services)  # the same object
    assert len({s.address for s in services}) == 46                    # each its own address
    assert len({id(s.client.transport.session) for s in services}) == 46  # and its own session
    assert server.requests[-1][0] == "/calc"


def test_a_wsdl_url_is_fetched_once_then_read_from_disk(tmp_path: Path, server: SoapServer) -> None:
    server.wsdl_documents["/calculator.wsdl"] = CALCULATOR_WSDL.read_bytes()
    url = f"{server.url}/calculator.wsdl"
    text = many_instances(3, url, server, extra='cache_dir = "wsdl-cache"')
    fetches = lambda: [p for p, op, _ in server.requests if p == "/calculator.wsdl"]  # noqa: E731
    before = len(fetches())
    r = make_raccord(text, tmp_path)
    try:
        for i in range(3):
            assert r.bound(f"c{i}", "calc").connector.service.operations  # type: ignore[attr-defined]
    finally:
        r.close()
    assert len(fetches()) == before + 1
    cached = list((tmp_path / "wsdl-cache").glob("*.xml"))
    assert len(cached) == 1 and cached[0].read_bytes() == CALCULATOR_WSDL.read_bytes()

    cache.clear()  # as in a new process: the disk copy serves, no second fetch
    r = make_raccord(text, tmp_path)
    try:
        assert call(r, "c0/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 1}) == 2
    finally:
        r.close()
    assert len(fetches()) == before + 1


def test_a_changed_wsdl_file_is_parsed_again(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = make_raccord(many_instances(1, "calculator.wsdl", server), tmp_path)
    try:
        first = r.bound("c0", "calc").connector.service.document  # type: ignore[attr-defined]
    finally:
        r.close()
    calc_wsdl.write_bytes(calc_wsdl.read_bytes() + b"\n")
    r = make_raccord(many_instances(1, "calculator.wsdl", server), tmp_path)
    try:
        second = r.bound("c0", "calc").connector.service.document  # type: ignore[attr-defined]
    finally:
        r.close()
    assert first is not second and cache.stats.parses == 2
