"""The SOAP test fixtures (defined in support.py, shared with tests/connectors/test_soap.py
and test_payfip.py)."""

from tests.connectors.soap.support import calc_wsdl, canary, fresh_wsdl_cache, server

__all__ = ["calc_wsdl", "canary", "fresh_wsdl_cache", "server"]
