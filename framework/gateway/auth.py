"""Who is calling, and may they call this.

Three kinds of credentials identify a client of an instance: a Publik-signed query
(``orig`` picks the client), an API key (``X-API-Key`` header, or ``apikey`` in the
query as Passerelle accepts it), or HTTP basic. No credentials at all is the
anonymous caller, who may only use ``open`` endpoints.

Isolation: a client belongs to one instance. On another instance it is refused (403)
unless that instance lists it in ``grants = ["<instance>.<client>"]`` — even on
``open`` endpoints, so that a leaked key of one commune is worth nothing elsewhere.
Credentials that are present but wrong are always a 401, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Iterable, MutableMapping
from functools import partial
from typing import Any

from framework.access import Principal, reaches
from framework.config.model import Client, SecretRef, Territory
from framework.errors import Forbidden, Unauthorized, Unavailable
from framework.gateway import signature as sig
from framework.gateway.nonces import NonceStore
from framework.gateway.query import query_pairs
from framework.storage.db import Database

log = logging.getLogger("raccord.gateway.auth")
APIKEY_HEADER = "HTTP_X_API_KEY"


class Secrets:
    """Resolves each secret reference once per process; unset ones are remembered as
    missing (the client simply cannot authenticate) and logged once."""

    def __init__(self) -> None:
        self._values: dict[SecretRef, str | None] = {}

    def get(self, ref: SecretRef, what: str) -> str | None:
        try:
            return self._values[ref]  # one lookup on every call: hashing a SecretRef is not free
        except KeyError:
            pass
        try:
            value: str | None = ref.resolve()
        except Unavailable as exc:
            log.info("%s cannot authenticate: %s", what, exc.describe())
            value = None
        if value is not None and not value.strip():
            # FOO=${FOO} with FOO unset gives "": an HMAC with an empty key or an
            # empty password is something anyone can produce.
            log.warning("%s cannot authenticate: its secret %s is empty", what, ref)
            value = None
        self._values[ref] = value
        return value


def missing_secrets(territory: Territory) -> list[str]:
    """``client id: reference`` for every client credential whose secret is unavailable."""
    missing = []
    for client in _clients(territory.instances.values()):
        for ref in _refs(client):
            if not ref.available():
                missing.append(f"{client.id}: {ref}")
    return missing


def _clients(instances: Iterable[object]) -> Iterable[Client]:
    for inst in instances:
        yield from inst.clients.values()  # type: ignore[attr-defined]


def _refs(client: Client) -> list[SecretRef]:
    refs = [client.apikey] if client.apikey else []
    if client.basic:
        refs.append(client.basic.password)
    if client.signature:
        refs.append(client.signature.secret)
    return refs


class Authenticator:
    def __init__(self, territory: Territory, db: Database) -> None:
        self.territory = territory
        self.window = territory.gateway.signature_window_seconds
        self.nonces = NonceStore(db, self.window)
        self.secrets = Secrets()
        clients = list(_clients(territory.instances.values()))
        self._by_orig: dict[str, list[Client]] = {}
        self._by_user: dict[str, list[Client]] = {}
        for c in clients:
            if c.signature:
                self._by_orig.setdefault(c.signature.orig, []).append(c)
            if c.basic:
                self._by_user.setdefault(c.basic.username, []).append(c)
        self._keyed = [c for c in clients if c.apikey]

    # -- who ------------------------------------------------------------------------

    def authenticate(self, environ: MutableMapping[str, Any], instance: str) -> Principal | None:
        """The caller, or None when no credentials were given (401 if they are wrong).

        ``instance`` only picks, among clients sharing a credential, the one allowed
        there; whether the caller may call anything is the access rule's business."""
        query = str(environ.get("QUERY_STRING", ""))
        if sig.is_signed(query):
            principal = self._signed(query, query_pairs(environ), instance)
        elif key := str(environ.get(APIKEY_HEADER, "")) or _query_apikey(query, environ):
            principal = self._apikey(key, instance)
        elif (auth := str(environ.get("HTTP_AUTHORIZATION", ""))).lower().startswith("basic "):
            principal = self._basic(auth[6:], instance)
        else:
            return None
        return principal

    def allowed(self, client: Client, instance: str) -> bool:
        inst = self.territory.instances.get(instance)
        return inst is not None and reaches(client, inst)

    def _signed(self, query: str, pairs: list[tuple[str, str]], instance: str) -> Principal:
        parsed = sig.parse(query, pairs)
        candidates = self._by_orig.get(parsed.orig)
        if not candidates:
            raise Forbidden(f"signature check failed: unknown orig {parsed.orig[:80]!r}")
        # The instance's own or granted clients first: an orig may sign for several.
        candidates = sorted(candidates, key=lambda c: not self.allowed(c, instance))
        client = self._match_signature(parsed, candidates)
        auth = client.signature
        assert auth is not None
        sig.check_timestamp(parsed, self.window)
        sig.check_nonce_form(parsed, auth)
        user = {k: v for k, v in (("email", parsed.email), ("name_id", parsed.name_id)) if v}
        # The nonce is spent when the call is allowed: a refused call must not burn it.
        admit = partial(self.nonces.remember, parsed.orig, parsed.nonce) if parsed.nonce is not None else None
        if admit is None:
            return Principal(client, "signature", user or None)
        return Principal(client, "signature", user or None, admit)

    def _match_signature(self, parsed: sig.SignedQuery, candidates: list[Client]) -> Client:
        # Clients of several instances may share an orig: those whose algorithms allow
        # this signature are tried; only when none does is the algorithm refused.
        allowed = [c for c in candidates if c.signature is not None and parsed.algo in c.signature.algos]
        if not allowed:
            assert candidates[0].signature is not None
            sig.check_algo(parsed, candidates[0].signature)
        usable = False
        for client in allowed:
            auth = client.signature
            assert auth is not None
            sig.check_algo(parsed, auth)
            secret = self.secrets.get(auth.secret, f"client {client.id}")
            if secret is None:
                continue
            usable = True
            if sig.matches(parsed, secret):
                return client
        if not usable:
            raise Unauthorized("signature check failed: this client's secret is not configured on "
                               "the server", hint="ask the raccord administrator")
        raise Unauthorized("signature check failed: signature does not match the query "
                           "(wrong key, or the query was changed after signing)")

    def _apikey(self, key: str, instance: str) -> Principal:
        found: list[Client] = []
        given = key.encode("utf-8")
        for client in self._keyed:
            assert client.apikey is not None
            secret = self.secrets.get(client.apikey, f"client {client.id}")
            # Compare against every key, without stopping early, in constant time each.
            if secret is not None and hmac.compare_digest(given, secret.encode("utf-8")):
                found.append(client)
        if not found:
            raise Unauthorized("API key check failed: unknown API key")
        return Principal(self._prefer(found, instance), "apikey")

    def _basic(self, token: str, instance: str) -> Principal:
        try:
            username, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            raise Unauthorized("basic auth check failed: malformed Authorization header") from None
        found = []
        for client in self._by_user.get(username, []):
            assert client.basic is not None
            secret = self.secrets.get(client.basic.password, f"client {client.id}")
            if secret is not None and hmac.compare_digest(password.encode(), secret.encode()):
                found.append(client)
        if not found:
            raise Unauthorized("basic auth check failed: unknown user or wrong password")
        return Principal(self._prefer(found, instance), "basic")

    def _prefer(self, clients: list[Client], instance: str) -> Client:
        """Of clients sharing one credential (one per instance), the one allowed here."""
        return next((c for c in clients if self.allowed(c, instance)), clients[0])


def _query_apikey(query: str, environ: MutableMapping[str, Any]) -> str:
    # Passerelle accepts ?apikey=…; the journal redacts it. Cheap test before parsing.
    if "apikey=" not in query:
        return ""
    return next((v for k, v in query_pairs(environ) if k == "apikey" and v), "")
