"""What every SOAP connector shares: WSDL settings and the lazily opened service."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from framework import Connector, Setting, WsdlSource, is_url, open_service


class SoapBase(Connector):
    """Base of SOAP connectors: the WSDL, its import mapping and the cache folder.

    The WSDL is parsed on the first call of any binding (then shared by all of them),
    not when the binding is built: a WSDL that cannot be loaded makes this binding's
    calls fail with a clear error, never the whole gateway's start.
    """

    schema_mapping = Setting(dict, {}, "imported schemas resolved offline: { \"<URL>\" = \"<local "
                             "file>\" } (paths relative to instances.toml)")
    allow_network_loads = Setting(bool, False, "let the WSDL's imports not in schema_mapping be "
                                  "fetched over the network while parsing (then cached)",
                                  variability="fixed")
    cache_dir = Setting(str, "", "where WSDLs fetched from a URL are cached (default: var/soap-cache "
                        "beside instances.toml)", variability="fixed")

    #: A connector shipping its WSDL sets this to the folder relative paths start from.
    wsdl_base_dir: str | None = None

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._service: Any = None
        self._lock = threading.Lock()

    def wsdl_location(self) -> str:
        return str(self.settings.wsdl)

    def service_options(self) -> dict[str, str | None]:
        """Service, port and address of this binding (subclasses decide)."""
        return {"service": None, "port": None, "address": None}

    def wsdl_source(self) -> WsdlSource:
        location = self.wsdl_location()
        if self.wsdl_base_dir and not is_url(location) and not Path(location).is_absolute():
            location = str(Path(self.wsdl_base_dir) / location)  # shipped with the connector
        # The mapping's files and the cache belong to the territory: relative to instances.toml.
        return WsdlSource.build(location, base_dir=self.ctx.base_dir,
                                schema_mapping=self.settings.schema_mapping,
                                allow_network=bool(self.settings.allow_network_loads),
                                cache_dir=self.settings.cache_dir)

    @property
    def service(self) -> Any:
        """This binding's :class:`framework.soap.SoapService` (opened on first use)."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    self._service = open_service(self.wsdl_source(), self.http, **self.service_options())
        return self._service


def package_dir(module_file: str) -> str:
    return str(Path(module_file).resolve().parent)
