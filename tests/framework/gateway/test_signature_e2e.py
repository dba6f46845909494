"""Publik signatures against the gateway under its real server (gunicorn), with a
signer written independently from the design document's recipe."""

from __future__ import annotations

import re
import secrets
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.framework.gateway import signer
from tests.framework.gateway.conftest import Live
from tests.framework.gateway.fakes import SECRETS

KEY = SECRETS["GW_ALPHA_WCS"]
ORIG = "orig=wcs.alpha.test"
PATH = "/alpha/echo/private"


def assert_refused(resp: object, status: int, check: str, *leaks: str) -> None:
    body = resp.json()  # type: ignore[attr-defined]
    assert resp.status_code == status, body  # type: ignore[attr-defined]
    assert body["err"] == 1 and body["data"] is None
    assert check in body["err_desc"], body["err_desc"]
    for leak in (KEY, *leaks):
        assert leak not in body["err_desc"]


def test_signed_call_accepted_with_acting_user(live: Live) -> None:
    query = signer.sign(f"email=agent%40metz.fr&NameID=abc123&{ORIG}", KEY)
    resp = live.get(f"{PATH}?{query}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"err": 0, "data": {"client": "alpha.wcs",
                                              "user": {"email": "agent@metz.fr", "name_id": "abc123"}}}


@pytest.mark.parametrize("variant", ["raw_colon", "orig_after_timestamp", "sha512"])
def test_client_variants_verify_on_the_raw_prefix(live: Live, variant: str) -> None:
    if variant == "raw_colon":
        query = signer.sign(ORIG, KEY, raw_colon=True)  # type: ignore[arg-type]
    elif variant == "orig_after_timestamp":
        message = f"algo=sha256&timestamp={urllib.parse.quote(signer.timestamp())}&nonce=" \
                  f"{secrets.token_hex(16)}&{ORIG}"
        query = signer.sign_message(message, KEY)
    else:
        query = signer.sign(ORIG, KEY, algo="sha512")
    assert live.get(f"{PATH}?{query}").status_code == 200


def test_one_byte_changed(live: Live) -> None:
    query = signer.sign(f"q=rue&{ORIG}", KEY).replace("q=rue", "q=ruf", 1)
    assert_refused(live.get(f"{PATH}?{query}"), 401, "signature does not match")


def test_wrong_key(live: Live) -> None:
    message = signer.signed_message(ORIG)
    query = signer.sign_message(message, "not-the-key")
    expected = signer.expected_signature(message, KEY)
    assert_refused(live.get(f"{PATH}?{query}"), 401, "signature does not match", expected,
                   urllib.parse.quote(expected, safe=""))


def test_parameter_after_signature(live: Live) -> None:
    query = signer.sign(ORIG, KEY) + "&email=admin%40metz.fr"
    assert_refused(live.get(f"{PATH}?{query}"), 401, "signature must be the last parameter")


@pytest.mark.parametrize("offset", [31, -31])
def test_timestamp_outside_window(live: Live, offset: int) -> None:
    query = signer.sign(ORIG, KEY, ts=signer.timestamp(offset))
    direction = "future" if offset > 0 else "past"
    assert_refused(live.get(f"{PATH}?{query}"), 401, f"in the {direction}, outside the ±30 s window")


def test_nonce_reused(live: Live) -> None:
    query = signer.sign(ORIG, KEY)
    assert live.get(f"{PATH}?{query}").status_code == 200
    # gunicorn may hand the replay to the other worker process: the store is the DB.
    for _ in range(3):
        assert_refused(live.get(f"{PATH}?{query}"), 401, "nonce already used")


def test_nonce_reused_across_two_servers(live: Live, territory_file: Path) -> None:
    """A second gateway (another gunicorn, other processes and connections) over the
    same database refuses a nonce the first one accepted."""
    other = Live(territory_file, live.db_url, workers=1)
    try:
        query = signer.sign(ORIG, KEY)
        assert live.get(f"{PATH}?{query}").status_code == 200
        assert_refused(other.get(f"{PATH}?{query}"), 401, "nonce already used")
    finally:
        other.stop()


def test_unknown_orig(live: Live) -> None:
    query = signer.sign("orig=intruder.example", KEY)
    assert_refused(live.get(f"{PATH}?{query}"), 403, "unknown orig")


@pytest.mark.parametrize(("algo", "check"), [("md5", "unsupported algo"), ("sha1", "not allowed")])
def test_unsupported_algo(live: Live, algo: str, check: str) -> None:
    query = signer.sign(ORIG, KEY, algo=algo)
    assert_refused(live.get(f"{PATH}?{query}"), 403, check)


def test_sha1_and_no_nonce_where_the_client_allows_them(live: Live) -> None:
    key = SECRETS["GW_ALPHA_LEGACY"]
    query = signer.sign("orig=legacy.alpha.test", key, algo="sha1", nonce=None)
    assert live.get(f"/alpha/echo/echo?{query}").status_code == 200


def test_missing_nonce_when_required(live: Live) -> None:
    query = signer.sign(ORIG, KEY, nonce=None)
    assert_refused(live.get(f"{PATH}?{query}"), 401, "missing nonce")


@pytest.mark.parametrize(("query", "check"), [
    ("signature=abc", "nothing was signed"),
    ("orig=wcs.alpha.test&signature=abc", "missing 'algo'"),
    ("orig=wcs.alpha.test&algo=sha256&timestamp=yesterday&nonce=1&signature=abc", "does not match"),
])
def test_malformed(live: Live, query: str, check: str) -> None:
    assert_refused(live.get(f"{PATH}?{query}"), 401, check)


def test_journal_redacts_signature_and_nonce(live: Live) -> None:
    from framework.storage import open_database
    from framework.storage.schema import journal

    nonce = secrets.token_hex(16)
    query = signer.sign(f"q=journal-check&{ORIG}", KEY, nonce=nonce)
    sig = query.rsplit("signature=", 1)[1]
    assert live.get(f"/alpha/echo/echo?{query}").status_code == 200
    db = open_database(live.db_url)
    try:
        for _ in range(50):  # the worker writes its journal in batches, every 0.2 s
            with db.engine.connect() as conn:
                inbound = journal.select().where(journal.c.url.like("%journal-check%"), journal.c.direction == "in")
                rows = conn.execute(inbound).all()
            if rows:
                break
            time.sleep(0.1)
    finally:
        db.dispose()
    assert len(rows) == 1
    row = rows[0]._mapping
    assert (row["direction"], row["instance"], row["client"], row["status"]) == ("in", "alpha", "alpha.wcs", 200)
    assert nonce not in row["url"] and urllib.parse.unquote(sig) not in row["url"] and sig not in row["url"]
    assert re.search(r"signature=\*\*\*", row["url"])
    assert row["duration_ms"] > 0
