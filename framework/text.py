"""Text as search compares it (shared by the record store and connectors)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accents removed: what search compares ("Rue de l'Église" ~ "eglise")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
