"""Hostile XML is refused, as WSDL and as SOAP answer, without expansion or network access."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from framework.errors import ConfigError, RaccordError, UpstreamError
from framework.testing import call
from tests.connectors.soap.soap_server import (
    BILLION_LAUGHS,
    XML,
    Canary,
    SoapServer,
    external_dtd,
    external_entity,
    hostile_envelope,
)
from tests.connectors.soap.support import CALCULATOR_WSDL, calculator_raccord

CALC = CALCULATOR_WSDL.read_text(encoding="utf-8").split("?>", 1)[1]  # without its XML declaration


# Expanded, the billion laughs is ~3 GB; the limit only has to tell "expanded" from
# "refused". tracemalloc counts every thread of the test process (the servers'
# included), hence a margin well above the ~60 KB a refusal costs measured alone.
PEAK_LIMIT = 32 * 1024 * 1024


def hostile_wsdl(prologue: str, entity: str) -> str:
    return prologue + CALC.replace("<wsdl:types>", f"<wsdl:documentation>&{entity};</wsdl:documentation>"
                                   "<wsdl:types>", 1)


def measured(func: object) -> tuple[BaseException, float, int]:
    """Run ``func``, expecting a RaccordError; return it, the seconds and the peak bytes."""
    import framework.soap.service  # noqa: F401  (zeep's own import is not the document's cost)

    tracemalloc.start()
    started = time.perf_counter()
    try:
        func()  # type: ignore[operator]
    except RaccordError as exc:
        error: BaseException = exc
    else:
        raise AssertionError("hostile document was accepted")
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, elapsed, peak


def measured_wsdl_load(tmp_path: Path, server: SoapServer) -> tuple[BaseException, float, int]:
    """Load tmp_path/calculator.wsdl (expecting a refusal), measured."""
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        return measured(lambda: call(r, "metropole/calc/operations"))
    finally:
        r.close()


def hostile_documents(canary: Canary) -> list[tuple[str, str]]:
    return [
        ("billion-laughs", hostile_envelope(BILLION_LAUGHS, "lol9")),
        ("file-entity", hostile_envelope(external_entity("file:///etc/passwd"), "xxe")),
        ("http-entity", hostile_envelope(external_entity(f"{canary.url}/entity"), "xxe")),
        ("http-dtd", hostile_envelope(external_dtd(f"{canary.url}/dtd"), "xxe")),
    ]


@pytest.mark.parametrize("kind", ["billion-laughs", "file-entity", "http-entity", "http-dtd"])
def test_hostile_soap_answers_are_refused(tmp_path: Path, calc_wsdl: Path, server: SoapServer,
                                          canary: Canary, kind: str) -> None:
    document = dict(hostile_documents(canary))[kind]
    server.answers[f"/{kind}"] = (200, document, XML)
    r = calculator_raccord(tmp_path, f"{server.url}/{kind}")
    try:
        call(r, "metropole/calc/operations")  # parse the (clean) WSDL outside the measure
        with pytest.raises(UpstreamError):  # warm up: first-call imports are not the document's cost
            call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2})
        error, elapsed, peak = measured(lambda: call(r, "metropole/calc/call", method="POST", path="Add",
                                                     body={"intA": 1, "intB": 2}))
    finally:
        r.close()
    assert isinstance(error, UpstreamError) and error.status == 502
    assert "DTD" in error.message and "refused" in error.message
    assert "root:" not in error.describe()  # nothing of /etc/passwd leaked
    assert elapsed < 2 and peak < PEAK_LIMIT, (elapsed, peak)
    assert canary.hits == []


@pytest.mark.parametrize("kind", ["billion-laughs", "file-entity", "http-entity", "http-dtd"])
def test_hostile_wsdls_are_refused(tmp_path: Path, server: SoapServer, canary: Canary, kind: str) -> None:
    prologues = {
        "billion-laughs": (BILLION_LAUGHS, "lol9"),
        "file-entity": (external_entity("file:///etc/passwd"), "xxe"),
        "http-entity": (external_entity(f"{canary.url}/entity"), "xxe"),
        "http-dtd": (external_dtd(f"{canary.url}/dtd"), "xxe"),
    }
    (tmp_path / "calculator.wsdl").write_text(hostile_wsdl(*prologues[kind]), encoding="utf-8")
    error, elapsed, peak = measured_wsdl_load(tmp_path, server)
    assert isinstance(error, ConfigError)
    assert "calculator.wsdl" in error.message and "DTD" in error.message
    assert elapsed < 2 and peak < PEAK_LIMIT, (elapsed, peak)
    assert canary.hits == []


def importing_wsdl(location: str) -> str:
    """The calculator WSDL importing one more schema from ``location``."""
    return CALCULATOR_WSDL.read_text(encoding="utf-8").replace(
        '<s:schema elementFormDefault="qualified" targetNamespace="http://tempuri.org/">',
        '<s:schema elementFormDefault="qualified" targetNamespace="http://tempuri.org/">'
        f'<s:import namespace="http://www.w3.org/2005/05/xmlmime" schemaLocation="{location}"/>', 1)


XMLMIME = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/2005/05/xmlmime">
  <xs:attribute name="contentType" type="xs:string"/>
</xs:schema>
"""


def test_unmapped_imports_are_refused_without_network(tmp_path: Path, server: SoapServer,
                                                      canary: Canary) -> None:
    (tmp_path / "calculator.wsdl").write_text(importing_wsdl(f"{canary.url}/xmlmime"), encoding="utf-8")
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        with pytest.raises(ConfigError) as err:
            call(r, "metropole/calc/operations")
    finally:
        r.close()
    assert f"{canary.url}/xmlmime" in err.value.message and "schema_mapping" in (err.value.hint or "")
    assert canary.hits == []


def test_mapped_imports_are_read_from_local_files(tmp_path: Path, server: SoapServer, canary: Canary) -> None:
    (tmp_path / "calculator.wsdl").write_text(importing_wsdl(f"{canary.url}/xmlmime"), encoding="utf-8")
    (tmp_path / "xmlmime.xsd").write_text(XMLMIME, encoding="utf-8")
    extra = f'schema_mapping = {{ "{canary.url}/xmlmime" = "xmlmime.xsd" }}'
    r = calculator_raccord(tmp_path, f"{server.url}/calc", extra=extra)
    try:
        assert call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2}) == 3
    finally:
        r.close()
    assert canary.hits == []


def test_imports_outside_the_wsdl_folder_are_refused(tmp_path: Path, server: SoapServer) -> None:
    (tmp_path / "calculator.wsdl").write_text(importing_wsdl("/etc/passwd"), encoding="utf-8")
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        with pytest.raises(ConfigError) as err:
            call(r, "metropole/calc/operations")
    finally:
        r.close()
    assert "/etc/passwd" in err.value.message and "own folder" in (err.value.hint or "")


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
def test_a_wsdl_that_is_not_a_bounded_file_is_a_clear_error(tmp_path: Path, server: SoapServer,
                                                            kind: str) -> None:
    import os

    target = tmp_path / "calculator.wsdl"
    if kind == "dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)  # opening it would block for ever
    else:
        with target.open("wb") as fh:
            fh.truncate(17 * 1024 * 1024)  # sparse: over the limit without writing it
    error, elapsed, peak = measured_wsdl_load(tmp_path, server)
    assert isinstance(error, ConfigError)
    expected = "over the 16,777,216-byte limit" if kind == "huge" else "not a regular file"
    assert expected in error.describe()
    assert elapsed < 2 and peak < PEAK_LIMIT, (elapsed, peak)


def test_a_soap_address_with_credentials_is_never_echoed(tmp_path: Path, calc_wsdl: Path,
                                                        server: SoapServer) -> None:
    from tests.connectors.soap.soap_server import fault

    server.answers["/faulty"] = (500, fault("soap:Server", "no luck"), XML)
    address = server.url.replace("http://", "http://agent:Pa55-canary@") + "/faulty"
    r = calculator_raccord(tmp_path, address)
    try:
        with pytest.raises(UpstreamError) as info:
            call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2})
    finally:
        r.close()
    text = info.value.describe() + repr(info.value.data)
    assert "no luck" in text and "127.0.0.1" in text
    assert "Pa55-canary" not in text and "agent" not in text
