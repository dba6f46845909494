"""What w.c.s. sends, rebuilt for the tests from the behaviour of its public source
(``wcs/api_utils.py`` sign_url / sign_url_auto_orig, ``wcs/wscalls.py`` call_webservice
and unflatten_keys, ``wcs/data_sources.py``, ``wcs/wf/geolocate.py``,
``wcs/qommon/misc.py`` get_reverse_geocoding_data). Written independently: it imports
nothing from framework.gateway, so a gateway bug cannot hide in a shared helper.

The details that matter to the server:

* query strings are re-encoded with ``urlencode`` (spaces become ``+``, ``:`` becomes
  ``%3A``); ``call_webservice`` drops the URL's blank parameters (``parse_qsl`` without
  ``keep_blank_values``) but a data source keeps them;
* a list value becomes repeated keys (``id=1&id=2``); ``None`` becomes ``name=``;
* ``orig`` (the front-office hostname) is appended after the other parameters, then
  ``algo``, ``timestamp``, ``nonce`` (hex of 128 random bits, variable length) and
  ``signature`` = ``quote(base64(hmac))`` — ``quote`` keeps ``/`` unencoded;
* the secret is the one held for the target's hostname (``[wscall-secrets]``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any


class Wcs:
    """One w.c.s. tenant: its front-office hostname (its ``orig``) and the secrets it
    holds per target hostname."""

    def __init__(self, frontoffice: str, secrets: Mapping[str, str]) -> None:
        self.orig = frontoffice
        self.secrets = dict(secrets)

    def _secret_for(self, url: str) -> str | None:
        host = urllib.parse.urlparse(url).netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0]
        return self.secrets.get(host)

    # -- signing (api_utils.sign_url) --------------------------------------------------

    @staticmethod
    def sign_url(url: str, key: str, algo: str = "sha256") -> str:
        parsed = urllib.parse.urlparse(url)
        timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        nonce = hex(random.getrandbits(128))[2:]
        query = parsed.query + "&" if parsed.query else ""
        query += urllib.parse.urlencode((("algo", algo), ("timestamp", timestamp), ("nonce", nonce)))
        digest = hmac.new(key.encode(), query.encode(), getattr(hashlib, algo)).digest()
        query += "&signature=" + urllib.parse.quote(base64.b64encode(digest))
        return urllib.parse.urlunparse(parsed._replace(query=query))

    def sign_url_auto_orig(self, url: str) -> str:
        """A data source's URL: signed when a secret is held for its host."""
        key = self._secret_for(url)
        if key is None:
            return url
        parsed = urllib.parse.urlparse(url)
        pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        pairs.append(("orig", self.orig))
        unsigned = urllib.parse.urlunparse(parsed._replace(query=urllib.parse.urlencode(pairs)))
        return self.sign_url(unsigned, key)

    # -- webservice calls (wscalls.call_webservice) ------------------------------------

    def webservice_url(self, url: str, qs_data: Mapping[str, Any] | None = None) -> str:
        key = self._secret_for(url)
        data = dict(qs_data or {})
        if key is not None:
            data["orig"] = self.orig
        parsed = urllib.parse.urlparse(url)
        if data:
            pairs = urllib.parse.parse_qsl(parsed.query)  # blank ones dropped, as w.c.s. does
            for name, value in data.items():
                if isinstance(value, list | tuple | set):
                    pairs.extend((name, v) for v in value)
                else:
                    pairs.append((name, str(value) if value is not None else ""))
            url = urllib.parse.urlunparse(parsed._replace(query=urllib.parse.urlencode(pairs)))
        return self.sign_url(url, key) if key is not None else url

    def webservice_post(self, url: str, *, post_data: Mapping[str, Any] | None = None,
                        formdata: Mapping[str, Any] | None = None,
                        qs_data: Mapping[str, Any] | None = None) -> tuple[str, dict[str, str], bytes | None]:
        """(signed URL, headers, body) of a POST: post_data unflattened, or with
        post_formdata the whole form export (post_data then under ``extra``)."""
        payload: Any = unflatten_keys(dict(post_data)) if post_data else None
        if formdata is not None:
            export = dict(formdata)
            if payload is not None:
                export["extra"] = payload
            payload = export
        headers = {"Accept": "application/json", "User-agent": "w.c.s./0 (https://dev.entrouvert.org/projects/wcs/)"}
        body = None
        if payload:
            headers["Content-type"] = "application/json"
            body = json.dumps(payload).encode()
        return self.webservice_url(url, qs_data), headers, body

    # -- geocoding ---------------------------------------------------------------------

    @staticmethod
    def geolocate_url(base: str, address: str, language: str = "fr") -> str:
        """wf/geolocate.py: unsigned; the address quoted (spaces as %20)."""
        return f"{base}/search?q={urllib.parse.quote(address)}&format=json&accept-language={language}"

    def reverse_geocoding_url(self, base: str, lat: float, lon: float, language: str = "fr") -> str:
        """qommon/misc.get_reverse_geocoding_data: a webservice call (signed when a
        secret is held for the host) of ``<base>/reverse?zoom=18``."""
        url = urllib.parse.urljoin(base + "/reverse", "?" + urllib.parse.urlencode({"zoom": 18}))
        return self.webservice_url(url, {"format": "json", "addressdetails": "1", "lat": str(lat),
                                         "lon": str(lon), "accept-language": language})


def unflatten_keys(flat: dict[str, Any]) -> Any:
    """``{"a/b/0/x": 1}`` → ``{"a": {"b": [{"x": 1}]}}`` (``//`` escapes a slash)."""
    if not flat:
        return flat

    def split(key: str) -> list[str | int]:
        parts = re.split(r"(?<!/)/(?!/)", key)
        return [int(p) if p.isascii() and p.isdigit() else p.replace("//", "/") for p in parts]

    paths = sorted((split(k), k) for k in flat)
    root: Any = [] if isinstance(paths[0][0][0], int) else {}
    for path, key in paths:
        node = root
        for part, following in zip(path, [*path[1:], None], strict=True):
            if following is None:  # the leaf
                if isinstance(part, int):
                    node.append(flat[key])
                else:
                    node[part] = flat[key]
                break
            new: Any = [] if isinstance(following, int) else {}
            if isinstance(part, int):
                if part == len(node):
                    node.append(new)
                node = node[part]
            else:
                node = node.setdefault(part, new)
    return root
