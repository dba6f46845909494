"""zeep's exceptions → raccord's error tree, at the boundary of every SOAP call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from framework.errors import BadRequest, RaccordError, SoapFault, UpstreamError
from framework.journal import host_of
from framework.soap.serialize import element_to_json


@contextmanager
def soap_errors(operation: str, address: str) -> Iterator[None]:
    """Translate whatever a zeep call raises; RaccordErrors pass through."""
    from zeep import exceptions as zx

    host = host_of(address)  # never user:password: these messages reach anonymous callers
    try:
        yield
    except RaccordError:
        raise
    except zx.Fault as exc:
        detail = element_to_json(exc.detail) if exc.detail is not None else None
        code = _text(exc.code)
        raise SoapFault(
            f"{host} answered a SOAP fault to {operation}: {code or 'no code'}: {exc.message or 'no message'}",
            data={"fault_code": code, "fault_string": exc.message, "detail": detail},
        ) from None
    except (zx.DTDForbidden, zx.EntitiesForbidden, zx.ExternalReferenceForbidden) as exc:
        raise UpstreamError(
            f"{host} answered {operation} with XML declaring a DTD, entities or external "
            f"references; refused ({type(exc).__name__})",
            hint="the server's answer is not a plain SOAP envelope") from None
    except zx.ValidationError as exc:
        raise BadRequest(f"{operation}: {exc}", hint="see the 'operations' endpoint for its input") from None
    except TypeError as exc:
        # zeep raises TypeError for unknown or missing arguments of an operation.
        raise BadRequest(f"{operation}: {exc}", hint="see the 'operations' endpoint for its input") from None
    except zx.TransportError as exc:
        # zeep wraps unparsable XML and empty error answers in TransportError.
        raise UpstreamError(f"{host} answered {operation} with a malformed SOAP message "
                            f"(HTTP {exc.status_code}, not well-formed XML)") from None
    except (zx.Error, ValueError, SyntaxError) as exc:
        # XMLSyntaxError, XMLParseError, UnexpectedElementError, LookupError…: the
        # answer is not what the WSDL promises.
        raise UpstreamError(f"{host} answered {operation} with a malformed SOAP message "
                            f"({type(exc).__name__}: {str(exc)[:200]})") from None


def _text(code: object) -> str | None:
    if code is None:
        return None
    return str(code)
