"""The generic soap connector against a real SOAP server on a loopback port."""

# ruff: noqa: F811  (pytest fixtures imported from support.py are parameters here)
from __future__ import annotations

from pathlib import Path

import pytest

from framework.errors import BadRequest, Forbidden, NotFound, SoapFault, UpstreamError, UpstreamTimeout
from framework.testing import call
from tests.connectors.soap.soap_server import SoapServer
from tests.connectors.soap.support import calc_wsdl, calculator_raccord, fresh_wsdl_cache, server  # noqa: F401  (fixtures, used by name)


def test_operations_list_each_input_and_output(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        ops = {op["name"]: op for op in call(r, "metropole/calc/operations")}
    finally:
        r.close()
    assert set(ops) == {"Add", "Subtract", "Multiply", "Divide"}
    assert ops["Add"]["input"] == {"intA": "int", "intB": "int"}
    assert ops["Add"]["output"] == {"AddResult": "int"}
    assert "intA: xsd:int" in ops["Add"]["signature"]


def test_call_sends_a_soap_request_and_returns_json(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        assert call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 2, "intB": 40}) == 42
        assert call(r, "metropole/calc/call", method="POST", path="Multiply",
                    body={"intA": 6, "intB": 7}) == 42
    finally:
        r.close()
    path, operation, body = server.requests[-1]
    assert (path, operation) == ("/calc", "Multiply")  # the instance's own address, not the WSDL's
    assert b"<ns0:intA>6</ns0:intA>" in body or b"intA>6<" in body


def test_soap_fault_is_a_502_with_code_and_string(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    try:
        with pytest.raises(SoapFault) as err:
            call(r, "metropole/calc/call", method="POST", path="Divide", body={"intA": 1, "intB": 0})
    finally:
        r.close()
    assert err.value.status == 502 and err.value.err_class == "raccord.soap_fault"
    assert err.value.data["fault_code"] == "soap:Server"
    assert "divide by zero" in err.value.data["fault_string"]
    assert "soap:Server" in err.value.message and "127.0.0.1" in err.value.message


@pytest.mark.parametrize(("path", "expected"), [
    ("malformed", "malformed SOAP message"),
    ("wrongshape", "malformed SOAP message"),
    ("html", "text/html"),
    ("html500", "HTTP 502"),
])
def test_bad_answers_are_502(tmp_path: Path, calc_wsdl: Path, server: SoapServer, path: str,
                             expected: str) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/{path}")
    try:
        with pytest.raises(UpstreamError) as err:
            call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2})
    finally:
        r.close()
    assert err.value.status == 502 and not isinstance(err.value, SoapFault)
    assert expected in err.value.message


def test_a_slow_server_is_a_504(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    server.delay = 1.0
    r = calculator_raccord(tmp_path, f"{server.url}/slow", timeout=0.3)
    try:
        with pytest.raises(UpstreamTimeout) as err:
            call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2})
    finally:
        r.close()
        server.delay = 0.0
    assert err.value.status == 504


def test_a_closed_port_is_a_502(tmp_path: Path, calc_wsdl: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = calculator_raccord(tmp_path, f"http://127.0.0.1:{port}/calc")
    try:
        with pytest.raises(UpstreamError) as err:
            call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 2})
    finally:
        r.close()
    assert "cannot reach" in err.value.message


def test_allow_list_refuses_other_operations(tmp_path: Path, calc_wsdl: Path, server: SoapServer) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc", extra='allowed_operations = ["Add"]')
    try:
        assert [op["name"] for op in call(r, "metropole/calc/operations")] == ["Add"]
        assert call(r, "metropole/calc/call", method="POST", path="Add", body={"intA": 1, "intB": 1}) == 2
        before = len(server.requests)
        with pytest.raises(Forbidden) as err:
            call(r, "metropole/calc/call", method="POST", path="Divide", body={"intA": 1, "intB": 1})
    finally:
        r.close()
    assert err.value.status == 403 and "Add" in (err.value.hint or "")
    assert len(server.requests) == before  # refused before anything was sent


@pytest.mark.parametrize(("operation", "body", "error", "needle"), [
    ("Add", {"intA": 1, "nope": 2}, BadRequest, "nope"),
    ("Add", ["not", "an", "object"], BadRequest, "is not of type 'object'"),  # the body_schema
    ("Add", {"intA": "abc", "intB": 1}, BadRequest, "Add"),
    ("Addd", {}, NotFound, "Add"),
    ("bad-name", {}, NotFound, "pattern"),
])
def test_bad_calls_are_refused_before_sending(tmp_path: Path, calc_wsdl: Path, server: SoapServer,
                                              operation: str, body: object, error: type, needle: str) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc")
    before = len(server.requests)
    try:
        with pytest.raises(error) as err:
            call(r, "metropole/calc/call", method="POST", path=operation, body=body)
    finally:
        r.close()
    assert needle in err.value.describe()
    assert len(server.requests) == before


def test_a_missing_wsdl_names_the_file(tmp_path: Path, server: SoapServer) -> None:
    r = calculator_raccord(tmp_path, f"{server.url}/calc")  # no calc_wsdl fixture: no file
    try:
        with pytest.raises(Exception) as err:
            call(r, "metropole/calc/operations")
    finally:
        r.close()
    assert "calculator.wsdl" in str(err.value) and getattr(err.value, "status", 0) in (500, 503)


@pytest.mark.parametrize("text", ["INF", "-INF", "NaN"])
def test_a_non_finite_decimal_in_an_answer_is_null(text: str) -> None:
    # zeep reads xsd:decimal "INF" as Decimal('Infinity'): int() of it raised OverflowError
    # (a 500), and NaN became a float NaN, which is not JSON.
    from zeep.xsd.types.builtins import Decimal as XsdDecimal

    from framework.soap.serialize import to_json

    assert to_json({"amount": XsdDecimal().pythonvalue(text), "whole": XsdDecimal().pythonvalue("12.00")}) == {
        "amount": None, "whole": 12}
