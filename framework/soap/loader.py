"""The transport zeep loads a WSDL and its imports with: offline unless allowed.

Every document zeep wants while parsing goes through :meth:`OfflineLoader.load`,
which serves, in order:

1. a URL listed in the schema mapping → its local file;
2. a local path (or ``file://`` URL) inside the WSDL's own folder, a mapped file
   or the cache folder → that file (a ``schemaLocation="../../etc/passwd"`` is refused);
3. an http(s) URL → the copy cached on disk, else — only for the WSDL's own URL,
   or when ``allow_network`` is set — fetched once with the binding's HTTP client
   (timeout, TLS) and cached.

Anything else raises :class:`LoadRefused`, naming the URL and the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from zeep.transports import Transport

from framework.config.files import read_bounded
from framework.errors import FileRefused
from framework.soap.hardening import declares_dtd
from framework.soap.source import WsdlSource, is_url

log = logging.getLogger("raccord.soap")
Fetch = Callable[[str], bytes]
#: The largest WSDL or schema file read (PayFiP's WSDL is 20 KiB; the largest public
#: WSDLs are a few MiB). Remote ones are capped by the binding's max_answer_bytes.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class LoadRefused(Exception):
    """zeep asked for a document the loading rules do not allow."""

    def __init__(self, url: str, hint: str) -> None:
        super().__init__(f"refused to load {url}")
        self.url = url
        self.hint = hint


def _refuse_fetch(url: str) -> bytes:
    raise LoadRefused(url, "the WSDL is already parsed; nothing more may be fetched")


class OfflineLoader(Transport):
    """A zeep transport for loading documents only (operations use the binding's)."""

    def __init__(self, source: WsdlSource, fetch: Fetch) -> None:
        # Not calling Transport.__init__: it would build a session with a file://
        # adapter, which is exactly the kind of reach this class exists to prevent.
        self.cache = None
        self.load_timeout = None
        self.operation_timeout = None
        self.logger = log
        self._close_session = False
        self.session = None
        self.source = source
        self._fetch = fetch
        self._mapping = source.mapping
        self.loaded: list[str] = []  # what was served, for diagnostics and tests
        roots = {source.cache_dir, *(os.path.dirname(p) for p in self._mapping.values())}
        if not is_url(source.location):
            roots.add(os.path.dirname(source.location))
        self._roots = tuple(os.path.realpath(r) for r in roots if r)

    def seal(self) -> None:
        """After parsing: drop the binding's HTTP client, refuse any further fetch."""
        self._fetch = _refuse_fetch

    def load(self, url: str) -> bytes:
        url = str(url)
        if url in self._mapping:
            return self._read(self._mapping[url], url)
        scheme = urlsplit(url).scheme
        if scheme in ("http", "https"):
            return self._remote(url)
        if scheme == "file":
            url = urlsplit(url).path
        elif scheme and len(scheme) > 1:  # "c:" is a drive, not a scheme
            raise LoadRefused(url, f"the {scheme}: scheme is not supported; map the URL to a local "
                                   "file in 'schema_mapping'")
        path = os.path.realpath(url)
        if not any(path == root or path.startswith(root + os.sep) for root in self._roots):
            raise LoadRefused(url, "a WSDL may only import files from its own folder; map the "
                                   "location to a file in 'schema_mapping'")
        return self._read(path, url)

    def _remote(self, url: str) -> bytes:
        cached = self.source.cached_path(url)
        if cached.is_file():
            return self._read(str(cached), url)
        if url != self.source.location and not self.source.allow_network:
            raise LoadRefused(url, "network loads are off while parsing: map this URL to a local "
                                   "file in 'schema_mapping' (or set allow_network_loads)")
        content = self._fetch(url)
        _refuse_dtd(content, url)  # never cache a hostile document
        _store(cached, content)
        log.info("fetched %s once, cached as %s", url, cached)
        self.loaded.append(url)
        return content

    def _read(self, path: str, url: str) -> bytes:
        content = read_document(path, url)
        _refuse_dtd(content, url)
        self.loaded.append(url)
        return content


def read_document(path: str, url: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """A local WSDL or schema: a regular file of bounded size, else LoadRefused.

    Read as every file named in configuration is (:func:`framework.config.files.read_bounded`):
    a FIFO would block the open for ever, and ``/dev/zero`` or a huge file would grow
    the process without bound (15 GB in 30 s)."""
    try:
        return read_bounded(path, limit, path, hint="give the path of a WSDL or XSD file; is it the right file?")
    except FileRefused as exc:
        raise LoadRefused(url, f"{exc.message} ({exc.hint})") from None
    except OSError as exc:
        raise LoadRefused(url, f"cannot read {path} ({exc.strerror})") from None


def _refuse_dtd(content: bytes, url: str) -> None:
    if declares_dtd(content):
        from zeep.exceptions import DTDForbidden

        raise DTDForbidden(url, None, None)  # type: ignore[no-untyped-call]


def _store(path: Path, content: bytes) -> None:
    """Write atomically: a concurrent process never reads half a WSDL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
