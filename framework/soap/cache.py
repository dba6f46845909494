"""One parsed WSDL per process for every binding that uses it.

Parsing a WSDL is the expensive part of zeep (17 ms and ~1 MiB for PayFiP; 46
separate parses cost 46 times that). The zeep ``Document`` is immutable once built
and holds no per-binding state (transport and address live in each binding's
light ``Client`` and service proxy), so one is shared, keyed by the WSDL's identity
(path, size, mtime — or URL), its import mapping and the parse settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError, Unavailable, UpstreamError, UpstreamTimeout
from framework.soap.hardening import settings_key, zeep_settings
from framework.soap.loader import Fetch, LoadRefused, OfflineLoader
from framework.soap.source import WsdlSource


@dataclass
class CacheStats:
    parses: int = 0
    hits: int = 0


_documents: dict[tuple[object, ...], Any] = {}
_locks: dict[tuple[object, ...], threading.Lock] = {}
_guard = threading.Lock()
stats = CacheStats()


def document_for(source: WsdlSource, fetch: Fetch) -> tuple[Any, Any]:
    """The shared parsed WSDL of ``source`` and its zeep settings (parsed on first use)."""
    settings = zeep_settings(source)
    key = (*source.identity, source.schema_mapping, source.allow_network, settings_key(settings))
    found = _documents.get(key)
    if found is not None:
        stats.hits += 1
        return found, settings
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one parse even when many bindings start at once
        if key in _documents:
            stats.hits += 1
        else:
            _documents[key] = _parse(source, settings, fetch)
            stats.parses += 1
    return _documents[key], settings


def clear() -> None:
    """Forget every parsed WSDL (tests, or after replacing a WSDL file)."""
    with _guard:
        _documents.clear()
        _locks.clear()
        stats.parses = stats.hits = 0


def _parse(source: WsdlSource, settings: Any, fetch: Fetch) -> Any:
    from zeep import exceptions as zx
    from zeep.wsdl import Document

    loader = OfflineLoader(source, fetch)
    where = source.location
    try:
        # zeep annotates the transport as a class; it takes an instance.
        return Document(source.location, loader, settings=settings)  # type: ignore[arg-type]
    except LoadRefused as exc:
        raise ConfigError(f"WSDL {where}: {exc}", hint=exc.hint) from None
    except (zx.DTDForbidden, zx.EntitiesForbidden) as exc:
        raise ConfigError(f"WSDL {where} was refused: it declares a DTD or entities ({exc})",
                          hint="SOAP documents must not carry a DTD; use a clean copy of the WSDL") from None
    except zx.ExternalReferenceForbidden as exc:
        raise ConfigError(f"WSDL {where} was refused: it imports {exc}",
                          hint="map that URL to a local file in 'schema_mapping'") from None
    except (UpstreamTimeout, UpstreamError) as exc:
        raise Unavailable(f"WSDL {where} cannot be fetched: {exc.message}",
                          hint="check the 'wsdl' URL, or ship the WSDL with the connector") from None
    except (zx.Error, ValueError, SyntaxError) as exc:
        # zeep raises many shapes for a broken WSDL; the admin needs the file and the reason.
        raise ConfigError(f"WSDL {where} cannot be parsed: {type(exc).__name__}: {exc}",
                          hint="check the file is a WSDL 1.1 document") from None
    finally:
        loader.seal()
