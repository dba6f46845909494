"""Where a WSDL comes from and what may be loaded while parsing it.

A :class:`WsdlSource` is hashable: together with the parse settings it is the key of
the process-wide cache of parsed WSDLs, so two bindings with the same source share
one parse.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from framework.config.paths import resolve_path
from framework.errors import ConfigError


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


@dataclass(frozen=True)
class WsdlSource:
    """A WSDL location and the rules for loading what it imports.

    ``location`` is an absolute path or an http(s) URL. ``schema_mapping`` maps
    URLs of imported documents to absolute local paths (resolved offline).
    ``allow_network`` lets imports not in the mapping be fetched (and cached);
    ``cache_dir`` is where fetched documents are kept.
    """

    location: str
    schema_mapping: tuple[tuple[str, str], ...] = ()
    allow_network: bool = False
    cache_dir: str = ""

    @classmethod
    def build(cls, location: str, *, base_dir: str, schema_mapping: Mapping[str, str] | None = None,
              allow_network: bool = False, cache_dir: str = "") -> WsdlSource:
        """Resolve relative paths against ``base_dir`` and freeze the mapping."""
        if not location:
            raise ConfigError("no WSDL given", hint="set the 'wsdl' setting to a path or an https URL")
        if not is_url(location):
            location = _absolute(location, base_dir)
        mapping = tuple(sorted((url, _absolute(path, base_dir))
                               for url, path in (schema_mapping or {}).items()))
        cache = _absolute(cache_dir, base_dir) if cache_dir else str(Path(base_dir) / "var" / "soap-cache")
        return cls(location, mapping, allow_network, cache)

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.schema_mapping)

    @property
    def identity(self) -> tuple[object, ...]:
        """What makes two parses of this source the same: a local file's path, size and
        modification time (a changed file is parsed again), or the URL."""
        if is_url(self.location):
            return (self.location,)
        try:
            stat = os.stat(self.location)
        except OSError:
            return (self.location, None)
        return (self.location, stat.st_size, stat.st_mtime_ns)

    def cached_path(self, url: str) -> Path:
        """Where a document fetched from ``url`` is kept on disk."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return Path(self.cache_dir) / f"{digest}.xml"


def _absolute(path: str, base_dir: str) -> str:
    if path.startswith("file://"):
        path = urlsplit(path).path
    return os.path.realpath(resolve_path(base_dir, path))
