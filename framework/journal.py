"""The per-instance journal of inbound calls and outbound requests.

Rows never hold secrets: URLs are stored without credentials or signature/key query
parameters (see :func:`redact_url`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import insert

from framework.storage.db import Database
from framework.storage.schema import journal

#: Query parameters whose values are credentials, never written anywhere.
SECRET_PARAMS = frozenset({"signature", "apikey", "api_key", "key", "token", "access_token",
                           "password", "secret", "nonce"})


def redact_url(url: str) -> str:
    """``url`` without user:password and with secret query values replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode([(k, "***" if k.lower() in SECRET_PARAMS else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def record(db: Database, *, direction: str, instance: str, **fields: Any) -> None:
    """Write one journal row (``direction`` is ``"in"`` or ``"out"``)."""
    if fields.get("url"):
        fields["url"] = redact_url(str(fields["url"]))
    row = {"at": dt.datetime.now(dt.UTC), "direction": direction, "instance": instance, **fields}
    with db.engine.begin() as conn:
        conn.execute(insert(journal), row)
