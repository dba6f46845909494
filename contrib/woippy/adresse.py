"""Woippy's override of the ``adresse`` profile: labels in La Poste's format.

Declared in instances.toml under ``[instances.woippy.overrides.adresse]``. Woippy's
mail-merge software prints envelopes straight from the address chosen in a
démarche, and La Poste's addressing standard (NF Z10-011) wants capitals without
accents or punctuation ("13 RUE DE L EGLISE 57140 WOIPPY"). Only the label changes;
the BAN properties stay as they are, so everything else behaves like the other
communes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from connectors.base_adresse.mapping import default_label
from framework import Connector, OverrideBuilder, hookimpl

# Letters NFKD leaves whole: La Poste spells them out.
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def la_poste_label(connector: Connector, properties: Mapping[str, Any]) -> str:
    """The BAN label in capitals, without accents, hyphens or apostrophes."""
    text = default_label(properties).translate(_LIGATURES)
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NOT_ALNUM.sub(" ", bare.upper()).strip()


@hookimpl
def raccord_override(override: OverrideBuilder) -> None:
    override.set_extension("format_label", la_poste_label)
