"""SOAP support for connectors (zeep), hardened and shared.

A connector describes its WSDL with a :class:`WsdlSource` and asks
:func:`open_service` for a :class:`SoapService` bound to its own HTTP client and
address. The parsed WSDL (a zeep ``Document``) is built once per process for every
binding that uses the same WSDL and settings (:mod:`framework.soap.cache`); each
binding gets a light zeep ``Client`` over that document, with a transport on its
own ``requests`` session (:mod:`framework.soap.transport`).

XML is hardened everywhere (WSDL, imported schemas, responses): no DTD, no entity
declarations, no external references, no huge trees; imported schemas come from
a URL → local file mapping, and nothing is fetched from the network while parsing
unless ``allow_network`` says so (:mod:`framework.soap.loader`).

zeep itself is imported lazily (it costs ~0.2 s): importing this package is cheap.
"""

from typing import Any

from framework.soap.source import WsdlSource

__all__ = ["SoapService", "WsdlSource", "open_service", "to_json"]


def __getattr__(name: str) -> Any:
    # Keep `import framework.soap` free of zeep: `raccord check` must stay fast.
    if name in ("SoapService", "open_service"):
        from framework.soap import service

        return getattr(service, name)
    if name == "to_json":
        from framework.soap.serialize import to_json

        return to_json
    raise AttributeError(name)
