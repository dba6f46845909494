"""Publik URL signatures (``/work/shared/design/PUBLIK-SIGNATURE.md``), verified strictly.

The signed message is the raw query string before ``&signature=``: it is never
decoded or re-encoded, because clients differ in order and encoding and the raw
prefix is what they signed. Stricter than the reference verifier: ``signature`` must
be the last parameter, auth parameters must not repeat, the timestamp must parse
exactly, and nonces are remembered in the database (``nonces``) so that a replay is
refused by every process and machine sharing it.

Replays are refused by :class:`framework.gateway.nonces.NonceStore`. Refusals raise
:class:`~framework.errors.Unauthorized` (401) or
:class:`~framework.errors.Forbidden` (403) whose message names the failed check and
never the secret or the expected signature.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from framework.config.model import SignatureAuth
from framework.errors import Forbidden, Unauthorized

HASHES: dict[str, Any] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_AUTH_PARAMS = ("orig", "algo", "timestamp", "nonce", "email", "NameID")
MAX_NONCE = 128  # the nonces.nonce column; the recipe's nonces are 32 hex characters


@dataclass(frozen=True)
class SignedQuery:
    """The parts of a signed query string the verifier needs."""

    message: bytes  # the raw bytes before "&signature="
    signature: str  # percent-decoded base64
    orig: str
    algo: str
    timestamp: str
    nonce: str | None
    email: str | None
    name_id: str | None


def is_signed(query: str) -> bool:
    """Does the raw query carry a ``signature`` parameter (anywhere)?"""
    return query.startswith("signature=") or "&signature=" in query


def parse(query: str, pairs: Sequence[tuple[str, str]] | None = None) -> SignedQuery:
    """Split a raw query string into what was signed and the signature (401 if malformed).

    ``pairs``: the whole query already parsed (``parse_qsl``, blank values kept), to
    reuse rather than parse the signed part again."""
    if query.startswith("signature="):
        raise Unauthorized("signature check failed: nothing was signed before the signature parameter")
    message, _, rest = query.partition("&signature=")
    if "&" in rest or "&signature=" in message:
        # Parameters after the signature are not covered by the HMAC.
        raise Unauthorized("signature check failed: signature must be the last parameter "
                           "(parameters after it are not covered by the signature)")
    # The signature is the last parameter and alone after "&signature=": the signed
    # part's pairs are the query's, but the last one.
    signed = pairs[:-1] if pairs and pairs[-1][0] == "signature" else parse_qsl(message, keep_blank_values=True)
    fields: dict[str, str] = {}
    for key, value in signed:
        if key in _AUTH_PARAMS:
            if key in fields:
                raise Unauthorized(f"signature check failed: parameter {key!r} appears twice")
            fields[key] = value
    for required in ("orig", "algo", "timestamp"):
        if not fields.get(required):
            raise Unauthorized(f"signature check failed: missing {required!r} parameter")
    return SignedQuery(
        message=message.encode("utf-8"),
        signature=unquote(rest),
        orig=fields["orig"],
        algo=fields["algo"],
        timestamp=fields["timestamp"],
        nonce=fields.get("nonce") or None,
        email=fields.get("email") or None,
        name_id=fields.get("NameID") or None,
    )


def digest(secret: str, algo: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, HASHES[algo]).digest()


def check_algo(query: SignedQuery, auth: SignatureAuth) -> None:
    if query.algo not in HASHES:
        raise Forbidden(f"signature check failed: unsupported algo {query.algo!r} "
                        f"(this client may use: {', '.join(auth.algos)})")
    if query.algo not in auth.algos:
        raise Forbidden(f"signature check failed: algo {query.algo!r} is not allowed for this client "
                        f"(it may use: {', '.join(auth.algos)})")


def matches(query: SignedQuery, secret: str) -> bool:
    """Constant-time comparison of the raw digests (a malformed signature never matches)."""
    try:
        given = base64.b64decode(query.signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, digest(secret, query.algo, query.message))


def check_timestamp(query: SignedQuery, window: int, now: float | None = None) -> None:
    if not _TIMESTAMP.fullmatch(query.timestamp):
        raise Unauthorized(f"signature check failed: timestamp {query.timestamp[:40]!r} is not "
                           "YYYY-MM-DDTHH:MM:SSZ (UTC)")
    ts = query.timestamp
    try:  # slicing the fixed format: strptime costs ~10 µs a call
        when = dt.datetime(int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]),
                           int(ts[17:19]), tzinfo=dt.UTC)
    except ValueError:
        raise Unauthorized(f"signature check failed: timestamp {query.timestamp!r} is not a valid "
                           "date") from None
    drift = when.timestamp() - (time.time() if now is None else now)
    if abs(drift) > window:
        direction = "in the future" if drift > 0 else "in the past"
        raise Unauthorized(f"signature check failed: timestamp is {abs(drift):.0f} s {direction}, "
                           f"outside the ±{window} s window (check the caller's clock)")


def check_nonce_form(query: SignedQuery, auth: SignatureAuth) -> None:
    if query.nonce is None:
        if auth.nonce_required:
            raise Unauthorized("signature check failed: missing nonce (this client must send one)")
        return
    if len(query.nonce) > MAX_NONCE:
        raise Unauthorized(f"signature check failed: nonce longer than {MAX_NONCE} characters")


def sign_query(query: str, secret: str, *, orig: str | None = None, algo: str = "sha256",
               timestamp: str | None = None, nonce: str | None = None) -> str:
    """Sign a raw query string the way Publik does (used by ``raccord sign``)."""
    import secrets as _secrets
    from urllib.parse import quote, urlencode

    parts: list[str] = [query] if query else []
    if orig is not None:
        parts.append(urlencode({"orig": orig}))
    ts = timestamp or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    extra: Sequence[tuple[str, str]] = [("algo", algo), ("timestamp", ts),
                                        ("nonce", nonce or _secrets.token_hex(16))]
    parts.append(urlencode(extra))
    message = "&".join(parts)
    sig = base64.b64encode(digest(secret, algo, message.encode("utf-8"))).decode("ascii")
    return f"{message}&signature={quote(sig, safe='')}"
