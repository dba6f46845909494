"""Calling the gateway in process, as each kind of caller.

:class:`GatewayClient` drives the very WSGI application ``raccord serve`` runs
(:class:`framework.gateway.app.Gateway`) through Werkzeug's test client: routing,
authentication, permission and body-schema checks, envelopes and status codes are the
production ones, without a server or a port. A caller is anonymous by default, or::

    client.get("/metz/adresse/search", params={"q": "rue"}, caller=signed("wcs.metz.fr", key))
    client.post("/metz/paiement/create", json={...}, caller=apikey(key))
    client.get("/metz/", caller=basic("portal", password))
"""

from __future__ import annotations

import base64
import json as jsonlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.test import Client

from framework.gateway.app import Gateway
from framework.gateway.signature import sign_query

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


@dataclass(frozen=True)
class Caller:
    """Who calls: extra headers, and how the query string is signed (if it is)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    orig: str | None = None
    secret: str | None = None
    algo: str = "sha256"
    user: Mapping[str, str] = field(default_factory=dict)

    def query(self, query: str) -> str:
        """The query string this caller sends for ``query``."""
        if self.secret is None:
            return query
        acting = urlencode(dict(self.user))
        full = "&".join(p for p in (query, acting) if p)
        return sign_query(full, self.secret, orig=self.orig, algo=self.algo)


ANONYMOUS = Caller()


def signed(orig: str, secret: str, *, algo: str = "sha256", email: str | None = None,
           name_id: str | None = None) -> Caller:
    """A Publik-signed caller (w.c.s.): ``orig`` and its shared ``secret``; ``email``
    and ``name_id`` name the acting user (``call.user`` in the connector)."""
    user = {k: v for k, v in (("email", email), ("NameID", name_id)) if v}
    return Caller(orig=orig, secret=secret, algo=algo, user=user)


def apikey(key: str) -> Caller:
    """A caller sending ``X-API-Key``."""
    return Caller(headers={"X-API-Key": key})


def basic(username: str, password: str) -> Caller:
    """A caller using HTTP basic authentication."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return Caller(headers={"Authorization": f"Basic {token}"})


@dataclass(frozen=True)
class GatewayAnswer:
    """An answer of the gateway: status, headers and the decoded JSON envelope."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def data(self) -> Any:
        """``data`` of the envelope."""
        return self.json.get("data")

    @property
    def err_class(self) -> str | None:
        """``err_class`` of an error envelope, ``None`` on success."""
        envelope = self.json
        return envelope.get("err_class") if envelope.get("err") else None


class GatewayClient:
    """The production gateway, in process; see the module docstring."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._client = Client(gateway)

    def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
                data: bytes | str | None = None, caller: Caller = ANONYMOUS,
                headers: Mapping[str, str] | None = None) -> GatewayAnswer:
        """Send one request; ``params`` may repeat a key (a list of pairs)."""
        query = caller.query(urlencode(list(params.items()) if isinstance(params, Mapping) else params or [],
                                       doseq=True))
        all_headers = {**caller.headers, **(headers or {})}
        body: bytes | str | None = data
        if json is not None:
            body = jsonlib.dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        response = self._client.open(path, method=method.upper(), query_string=query,
                                     data=body, headers=list(all_headers.items()))
        return GatewayAnswer(response.status_code, dict(response.headers.items()), response.get_data())

    def get(self, path: str, **kw: Any) -> GatewayAnswer:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> GatewayAnswer:
        return self.request("POST", path, **kw)

    def close(self) -> None:
        self.gateway.close()
