"""The zeep transport of one binding: its OutboundHTTP (session, timeouts, TLS,
and whatever policy OutboundHTTP applies — retries, circuit breaker, journal).

SOAP servers answer faults with HTTP 500: the transport tells ``OutboundHTTP.request``
that a 5xx with an XML body is a normal answer, so zeep reads the fault (code and
string) from it and the binding's circuit breaker does not count it as a failure.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from zeep.transports import Transport

from framework.errors import UpstreamError
from framework.journal import host_of
from framework.outbound import OutboundHTTP
from framework.soap.hardening import declares_dtd

log = logging.getLogger("raccord.soap")

XML_TYPES = ("text/xml", "application/soap+xml", "application/xml", "multipart/related")


class BindingTransport(Transport):
    def __init__(self, http: OutboundHTTP) -> None:
        # Not calling Transport.__init__: it mounts a file:// adapter on the session
        # and rewrites its User-Agent; the binding's session is not ours to change.
        self.http = http
        self.session = http.session
        self.cache = None
        self.load_timeout = http.timeout
        self.operation_timeout = http.timeout
        self.logger = log
        self._close_session = False

    def load(self, url: str) -> bytes:
        # Documents are loaded once, by the shared parse (framework.soap.loader).
        raise UpstreamError(f"refused to load {url} during a call",
                            hint="a SOAP answer may not make raccord fetch documents")

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> requests.Response:
        return self._send("POST", address, data=message, headers=headers)

    def get(self, address: str, params: Any, headers: dict[str, str]) -> requests.Response:
        return self._send("GET", address, params=params, headers=headers)

    def _send(self, method: str, address: str, **kwargs: Any) -> requests.Response:
        # A 5xx carrying a SOAP envelope is a fault zeep must read, and a server that
        # answers faults is up (the circuit breaker must not count it); anything else
        # (a proxy's HTML error page, a refused connection) stays an error.
        response = self.http.request(method, address, accept=_is_xml, **kwargs)
        _refuse_dtd(response, address)
        if not _is_xml(response) and response.content:
            ctype = response.headers.get("Content-Type", "no content type")
            raise UpstreamError(
                f"{host_of(address)} answered {ctype} (HTTP {response.status_code}) instead of a SOAP envelope",
                hint="check the service address: it may point to a web page, not the SOAP endpoint")
        return response


def _refuse_dtd(response: requests.Response, address: str) -> None:
    if declares_dtd(response.content):
        raise UpstreamError(f"{host_of(address)} answered with XML declaring a DTD; refused unparsed "
                            "(XML hardening: no DTD, no entities, no external references)",
                            hint="a SOAP server never needs a DTD: the answer may be hostile")


def _is_xml(response: requests.Response) -> bool:
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    # No content type at all: let zeep try (it refuses what is not XML).
    return not ctype or ctype in XML_TYPES or ctype.endswith("+xml")
