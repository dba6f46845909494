"""The XML rules every SOAP document is parsed under (WSDL, schemas, responses)."""

from __future__ import annotations

import re
from typing import Any

from framework.soap.source import WsdlSource


def zeep_settings(source: WsdlSource) -> Any:
    """zeep settings: no DTD, no entity declarations, no huge trees, strict parsing.

    ``forbid_external`` is on unless the source maps URLs or allows the network: zeep
    checks it *before* asking the transport, so with it on a mapped URL could never
    be served. Either way the loader (:mod:`framework.soap.loader`) is the gate that
    refuses every URL that is neither mapped nor allowed.
    """
    from zeep import Settings

    return Settings(
        strict=True,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=not (source.schema_mapping or source.allow_network),
        xml_huge_tree=False,
        # zeep's default would rewrite http imports to https when the WSDL came
        # over https: surprising with a mapping, and the mapping is explicit anyway.
        force_https=False,
    )


def settings_key(settings: Any) -> tuple[object, ...]:
    """The parse settings that change the result, as part of the cache key."""
    return (settings.strict, settings.forbid_dtd, settings.forbid_entities,
            settings.forbid_external, settings.xml_huge_tree, settings.force_https)


_PROLOGUE_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)


def declares_dtd(content: bytes | str) -> bool:
    """Whether a document's prologue holds a ``<!DOCTYPE`` (and so maybe entities).

    Checked on the raw bytes *before* any XML parser sees them: a billion-laughs or
    external-entity document is refused without libxml2 reading its declarations.
    zeep's own ``forbid_dtd`` stays on behind this, for encodings this scan skips.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while (match := _PROLOGUE_ITEM.match(data, pos)) is not None and match.end() > pos:
        pos = match.end()
    return data[pos:pos + 64].lstrip().startswith(b"<!DOCTYPE")
