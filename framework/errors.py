"""The one exception tree of raccord.

Every error a caller or an admin can see derives from :class:`RaccordError`, which
carries the HTTP status and the ``err_class`` of the Passerelle-compatible envelope::

    RaccordError
    ├── BadRequest (400)            a parameter or body is invalid
    │   └── PayloadTooLarge (413)   the body is over the configured limit
    ├── Unauthorized (401)          no or unusable credentials
    ├── Forbidden (403)             credentials known but not allowed here
    ├── NotFound (404)              unknown instance, profile, endpoint or object
    ├── MethodNotAllowed (405)      the endpoint does not take this HTTP method
    ├── UpstreamError (502)         the business server failed or answered nonsense
    │   └── SoapFault (502)         the business server answered a SOAP fault
    ├── Unavailable (503)           the binding is down (circuit open, missing secret)
    │   └── FileRefused (503)       a configured file is not a regular file of bounded size
    ├── UpstreamTimeout (504)       the business server did not answer in time
    └── ConfigError (500)           the configuration cannot be used

Connectors translate their vendor's errors at the boundary (``raise UpstreamError(...)
from exc``); anything else escaping an endpoint is an incident (500 with an id).
"""

from __future__ import annotations

from typing import Any


class RaccordError(Exception):
    """Base class: an error with an HTTP status and an envelope ``err_class``."""

    status: int = 500
    err_class: str = "raccord.error"

    def __init__(self, message: str, *, data: Any = None, hint: str | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.hint = hint
        # The status asked for explicitly (Passerelle's APIError(http_status=…)): kept even
        # where connector-level errors are answered 200 + err 1 (see framework.gateway.envelope).
        self.http_status = http_status

    def describe(self) -> str:
        """The message a person reads: what went wrong, then how to fix it."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadRequest(RaccordError):
    status = 400
    err_class = "raccord.bad_request"


class PayloadTooLarge(BadRequest):
    status = 413
    err_class = "raccord.payload_too_large"


class Unauthorized(RaccordError):
    status = 401
    err_class = "raccord.unauthorized"


class Forbidden(RaccordError):
    status = 403
    err_class = "raccord.forbidden"


class NotFound(RaccordError):
    status = 404
    err_class = "raccord.not_found"


class MethodNotAllowed(RaccordError):
    status = 405
    err_class = "raccord.method_not_allowed"

    def __init__(self, message: str, *, allowed: tuple[str, ...] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.allowed = allowed


class UpstreamError(RaccordError):
    status = 502
    err_class = "raccord.upstream_error"


class SoapFault(UpstreamError):
    err_class = "raccord.soap_fault"


class Unavailable(RaccordError):
    status = 503
    err_class = "raccord.unavailable"


class FileRefused(Unavailable):
    """A file named in configuration (secret, CSV, the configuration itself) is a FIFO,
    a device, a directory or over its size limit: the configuration points at the wrong
    thing. ``raccord check`` reports it as an error (a missing file is only a warning
    where the service's environment may differ); at call time it is a 503 like any
    unavailable resource."""


class UpstreamTimeout(RaccordError):
    status = 504
    err_class = "raccord.upstream_timeout"


class ConfigError(RaccordError):
    status = 500
    err_class = "raccord.config_error"


class PluginError(Exception):
    """A plugin could not be loaded or registered; the message names it and the fix."""


def envelope_for(error: RaccordError) -> dict[str, Any]:
    """The Passerelle-compatible error envelope for *error*."""
    return {
        "err": 1,
        "err_class": error.err_class,
        "err_desc": error.describe(),
        "data": error.data,
    }
