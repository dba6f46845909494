"""Anchor (d) of bench/gateway.py: anchor (c) plus what a signed Publik call needs.

The same Flask + requests proxy, behind a Publik URL signature check
(/work/shared/design/PUBLIK-SIGNATURE.md: HMAC over the raw query before
``&signature=``, base64, ``orig`` selecting the secret, timestamp within ±30 s, one
nonce per call) and one autocommit SQLite insert of the nonce per call (WAL, one
connection per thread), which is also how a replay is refused. An afternoon's work:
no cleanup of old nonces, no tuning of SQLite's busy handler.

    BENCH_UPSTREAM=… BENCH_SECRETS=orig1=secret1 BENCH_NONCE_DB=/tmp/n.sqlite3 gunicorn … signed_proxy:app
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import sqlite3
import threading
from urllib.parse import parse_qsl, unquote

import requests
from flask import Flask, Response, jsonify, request

UPSTREAM = os.environ["BENCH_UPSTREAM"]
SECRETS = dict(pair.split("=", 1) for pair in os.environ["BENCH_SECRETS"].split(","))
NONCE_DB = os.environ["BENCH_NONCE_DB"]
WINDOW = dt.timedelta(seconds=30)
ALGOS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}

app = Flask(__name__)
session = requests.Session()
local = threading.local()


def db() -> sqlite3.Connection:
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = sqlite3.connect(NONCE_DB, isolation_level=None)  # autocommit
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # raccord's setting too
        conn.execute("CREATE TABLE IF NOT EXISTS nonces (orig TEXT, nonce TEXT, seen_at REAL, "
                     "PRIMARY KEY (orig, nonce))")
    return conn


def check_signature(query: str) -> str | None:
    """None if the query is correctly signed, else why not."""
    message, found, signature = query.rpartition("&signature=")
    if not found or "&" in signature:
        return "signature missing, or not the last parameter"
    params = dict(parse_qsl(message, keep_blank_values=True))
    secret = SECRETS.get(params.get("orig", ""))
    if secret is None:
        return "unknown orig"
    algo = ALGOS.get(params.get("algo", ""))
    if algo is None:
        return "unsupported algo"
    expected = base64.b64encode(hmac.new(secret.encode(), message.encode(), algo).digest()).decode()
    if not hmac.compare_digest(expected, unquote(signature)):
        return "wrong signature"
    try:
        timestamp = dt.datetime.strptime(params.get("timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return "malformed timestamp"
    now = dt.datetime.now(dt.UTC)
    if abs(now - timestamp) > WINDOW:
        return "timestamp out of the window"
    nonce = params.get("nonce")
    if not nonce:
        return "missing nonce"
    try:
        db().execute("INSERT INTO nonces VALUES (?, ?, ?)", (params["orig"], nonce, now.timestamp()))
    except sqlite3.IntegrityError:
        return "nonce already used"
    return None


@app.get("/signed")
def signed() -> Response | tuple[Response, int]:
    refused = check_signature(request.query_string.decode())
    if refused is not None:
        return jsonify(err=1, err_desc=refused), 403
    upstream = session.get(UPSTREAM, timeout=10)
    return Response(upstream.content, status=upstream.status_code, mimetype="application/json")
