"""Anchor (c) of bench/gateway.py: the hand-written proxy raccord is measured against.

What a competent developer writes in an afternoon to put an upstream JSON API behind
HTTP: one Flask route, a module-level requests.Session (keep-alive to the upstream),
served by gunicorn gthread (bench/gateway.py starts it with ``-w 2 --threads 4
--keep-alive 5``, raccord's own worker layout). Deliberately not tuned beyond that.

    BENCH_UPSTREAM=http://127.0.0.1:8080/json gunicorn -k gthread ... proxy:app
"""

from __future__ import annotations

import os

import requests
from flask import Flask, Response

UPSTREAM = os.environ["BENCH_UPSTREAM"]

app = Flask(__name__)
session = requests.Session()


@app.get("/proxy")
def proxy() -> Response:
    upstream = session.get(UPSTREAM, timeout=10)
    return Response(upstream.content, status=upstream.status_code, mimetype="application/json")
