"""OutboundHTTP against a hostile server: total deadline, size cap, redirects, bad JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from framework.errors import UpstreamError, UpstreamTimeout
from framework.outbound import OutboundHTTP
from framework.outbound.answer import decode_json
from framework.outbound.policy import OutboundPolicy
from tests.conftest import ROOT
from tests.framework.outbound.hostile import HostileServer

CANARY = "canary-Pw-7f3a"



def client(**policy: Any) -> OutboundHTTP:
    policy.setdefault("retry_backoff", 0.01)
    return OutboundHTTP("metz/tickets", policy=OutboundPolicy(**policy), secrets=(CANARY,))


def creds(url: str) -> str:
    return url.replace("http://", f"http://portal:{CANARY}@")


@pytest.mark.parametrize("mode", ["dribble", "slow-headers"])
def test_a_dribbling_server_is_cut_at_the_total_deadline(hostile: HostileServer, mode: str) -> None:
    # read_timeout is per socket read: a byte every 0.2 s never trips it; total_timeout does.
    http = client(read_timeout=30, total_timeout=1.0, retries=2)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not send its whole answer within 1 s") as info:
        http.get_json(f"{creds(hostile.url)}/{mode}?every=0.2")
    elapsed = time.monotonic() - started
    assert info.value.status == 504
    assert 0.9 <= elapsed < 2.5  # cut at the deadline, not retried past it
    assert CANARY not in info.value.describe()
    http.close()


def test_the_deadline_covers_retries_and_their_waits(hostile: HostileServer) -> None:
    # Without the deadline, 50 retries with exponential waits would take minutes.
    http = client(total_timeout=1.0, retries=50, retry_backoff=0.3)
    started = time.monotonic()
    with pytest.raises(UpstreamError):
        http.get_json(f"{hostile.url}/reset")
    assert time.monotonic() - started < 4


def test_an_announced_huge_answer_is_refused_unread(hostile: HostileServer) -> None:
    http = client(max_answer_bytes=1024 * 1024)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match=r"announced 1,073,741,824 bytes.*1,048,576-byte limit") as info:
        http.get_json(f"{hostile.url}/huge")
    assert info.value.status == 502 and "max_answer_bytes" in (info.value.hint or "")
    assert time.monotonic() - started < 2
    http.close()


def test_an_endless_answer_stops_at_the_cap_with_bounded_memory(hostile: HostileServer) -> None:
    # In a fresh process, so the peak RSS measured is this call's alone.
    code = f"""
import resource, json
from framework.errors import UpstreamError
from framework.outbound import OutboundHTTP
from framework.outbound.policy import OutboundPolicy
http = OutboundHTTP("metz/tickets", policy=OutboundPolicy(max_answer_bytes=10 * 1024 * 1024))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    http.get_json("{hostile.url}/huge-unannounced")
    print(json.dumps({{"error": None}}))
except UpstreamError as exc:
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"error": exc.message, "grew_kib": after - before}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "sent more than the 10,485,760-byte limit" in result["error"]
    assert result["grew_kib"] < 40 * 1024  # the 10 MiB cap + a little, never the gigabyte


def test_a_redirect_to_another_host_is_not_followed(hostile: HostileServer, other: HostileServer) -> None:
    http = client()
    before = len(other.seen)
    with pytest.raises(UpstreamError, match=r"redirecting to another server \(127.0.0.1:\d+\)") as info:
        http.request("GET", f"{creds(hostile.url)}/redirect-other",
                     headers={"X-API-Key": CANARY}, cookies={"session": CANARY})
    assert info.value.status == 502
    assert len(other.seen) == before  # the other server never saw the credential
    assert CANARY not in info.value.describe()
    http.close()


def test_a_307_of_a_post_is_not_followed_and_the_body_not_resent(hostile: HostileServer) -> None:
    http = client()
    before = len(hostile.seen)
    with pytest.raises(UpstreamError, match=r"HTTP 307 .*never re-sends a request body"):
        http.request("POST", f"{hostile.url}/redirect-307", json={"push": 1}, idempotency_key="k1")
    assert len(hostile.seen) == before + 1  # the POST itself, never a second one to /ok
    http.close()


def test_a_redirect_on_the_same_host_without_body_is_followed(hostile: HostileServer) -> None:
    http = client()
    assert http.get_json(f"{hostile.url}/redirect-307") == {"ok": True}
    http.close()


def test_allow_redirects_false_hands_the_3xx_to_the_connector(hostile: HostileServer) -> None:
    http = client()
    response = http.request("GET", f"{hostile.url}/redirect-other", allow_redirects=False)
    assert response.status_code == 302
    http.close()


@pytest.mark.parametrize(("mode", "message"), [
    ("nan", r"answered JSON with NaN, which is not a JSON number"),
    ("deep", r"answered JSON nested more than 100 levels deep"),
    ("html", r"answered text/html instead of JSON"),
    ("empty", r"answered application/json instead of JSON"),
    ("invalid", r"answered application/json instead of JSON"),
])
def test_json_that_cannot_be_served_is_a_502(hostile: HostileServer, mode: str, message: str) -> None:
    http = client()
    with pytest.raises(UpstreamError, match=message) as info:
        http.get_json(f"{creds(hostile.url)}/{mode}")
    assert info.value.status == 502 and CANARY not in info.value.describe()
    http.close()


def answer(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content, response.url = 200, body, "http://127.0.0.1:1/x"
    return response


def test_infinity_written_as_a_huge_number_is_refused() -> None:
    with pytest.raises(UpstreamError, match=r"1e999, which is not a JSON number"):
        decode_json(answer(b'{"a": 1e999}'))


def test_nesting_under_the_limit_is_served() -> None:
    assert decode_json(answer(b"[" * 100 + b"]" * 100)) is not None


def test_a_reset_is_an_upstream_error_naming_the_host_only(hostile: HostileServer) -> None:
    http = client(retries=0)
    with pytest.raises(UpstreamError, match=r"cannot reach 127.0.0.1:\d+: ConnectionError") as info:
        http.get_json(f"{creds(hostile.url)}/reset")
    assert CANARY not in info.value.describe() and "portal" not in info.value.describe()
    http.close()
