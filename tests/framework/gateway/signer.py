"""An independent Publik signer, written from PUBLIK-SIGNATURE.md's recipe only
(it deliberately imports nothing from framework.gateway)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
import urllib.parse


def timestamp(offset: float = 0.0) -> str:
    """Now + offset seconds, UTC, second precision, literal Z. Positive offsets round
    up and negative ones down, so the drift seen by the server is at least |offset|."""
    import math

    now = time.time() + offset
    when = math.ceil(now) if offset > 0 else math.floor(now)
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_message(query: str, *, algo: str = "sha256", ts: str | None = None,
                   nonce: str | None = "auto", raw_colon: bool = False) -> str:
    """Step 1–4: the query plus algo, timestamp and nonce (form-urlencoded)."""
    ts = ts or timestamp()
    extra = [("algo", algo), ("timestamp", ts)]
    if nonce == "auto":
        nonce = secrets.token_hex(16)
    if nonce is not None:
        extra.append(("nonce", nonce))
    tail = urllib.parse.urlencode(extra)
    if raw_colon:  # one real client sends the timestamp's ':' unencoded
        tail = tail.replace("%3A", ":")
    return f"{query}&{tail}" if query else tail


def sign_message(message: str, key: str, algo: str = "sha256") -> str:
    """Step 5–6: HMAC over the exact bytes, base64, percent-encoded, appended last."""
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), getattr(hashlib, algo)).digest()
    signature = urllib.parse.quote(base64.b64encode(digest).decode("ascii"), safe="")
    return f"{message}&signature={signature}"


def sign(query: str, key: str, **kw: str | None) -> str:
    algo = kw.get("algo") or "sha256"
    return sign_message(signed_message(query, **kw), key, algo)  # type: ignore[arg-type]


def expected_signature(message: str, key: str, algo: str = "sha256") -> str:
    digest = hmac.new(key.encode(), message.encode(), getattr(hashlib, algo)).digest()
    return base64.b64encode(digest).decode("ascii")
