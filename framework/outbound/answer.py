"""Reading a business server's answer: bounded in size, and JSON that raccord can serve.

The body is read in chunks under the call's deadline (see :mod:`.deadline`) and
refused as soon as it grows past the binding's ``max_answer_bytes``: a 1 GB answer
costs the cap plus one chunk, never 1 GB. JSON is refused when it carries NaN or
Infinity (not JSON; the gateway could not encode it) or nests absurdly deep (a
100,000-deep array must not reach a recursive encoder).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import requests

from framework.errors import NotFound, UpstreamError
from framework.journal import host_of

#: What a JSON helper does with a 404: an upstream error (502), NotFound (404), or None.
On404 = Literal["error", "not_found", "none"]
CHUNK = 16 * 1024  # small enough that one decompressed chunk stays far under any cap
MAX_DEPTH = 100  # no business answer nests deeper; Python's recursion limit is ~1,000


class AnswerTooLarge(UpstreamError):
    """The answer is over ``max_answer_bytes`` (a 502: the business server is at fault)."""


def read_body(response: requests.Response, cap: int) -> None:
    """Read ``response``'s whole body (at most ``cap`` bytes) into ``response.content``."""
    loaded: Any = getattr(response, "_content", False)  # requests' "not read yet" is False
    if loaded is not False:  # already in memory (a stub adapter): only the cap applies
        if len(loaded or b"") > cap:
            raise _too_large(response, cap, "sent more")
        return
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        response.close()
        raise _too_large(response, cap, f"announced {int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > cap:
            response.close()  # the rest is never read: the connection is dropped
            raise _too_large(response, cap, "sent more")
        chunks.append(chunk)
    response._content = b"".join(chunks)
    response._content_consumed = True  # type: ignore[attr-defined]


def _too_large(response: requests.Response, cap: int, what: str) -> AnswerTooLarge:
    return AnswerTooLarge(
        f"{host_of(response.url)} {what} than the {cap:,}-byte limit on an answer; refused unread",
        hint="raise the binding's max_answer_bytes setting if such answers are expected")


def decode_json(response: requests.Response, on_404: On404 = "error") -> Any:
    """The answer's JSON; HTML, invalid JSON, NaN/Infinity or absurd nesting are a 502,
    and so is a 4xx/5xx status — but a 404 with ``on_404="not_found"`` (NotFound) or
    ``"none"`` (None)."""
    sent = response.request.url if response.request is not None else None
    host = host_of(sent or response.url or "")
    if response.status_code == 404 and on_404 != "error":
        if on_404 == "none":
            return None
        raise NotFound(f"{host} has no such object (HTTP 404)")
    if response.status_code >= 400:
        raise UpstreamError(f"{host} answered HTTP {response.status_code}")
    try:
        data = json.loads(response.content, parse_constant=_no_constant, parse_float=_finite)
    except _NotFinite as exc:
        raise UpstreamError(f"{host} answered JSON with {exc}, which is not a JSON number; refused",
                            hint="the business server must send numbers JSON can carry") from None
    except RecursionError:
        raise _too_deep(host) from None
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        ctype = response.headers.get("Content-Type", "unknown")
        raise UpstreamError(
            f"{host} answered {ctype} instead of JSON",
            hint="check the service URL setting: it may point to a web page, not the API",
        ) from None
    if _depth_exceeds(data, MAX_DEPTH):
        raise _too_deep(host)
    return data


class _NotFinite(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999 parses as inf without going through parse_constant
        raise _NotFinite(text)
    return value


def _too_deep(host: str) -> UpstreamError:
    return UpstreamError(f"{host} answered JSON nested more than {MAX_DEPTH} levels deep; refused",
                         hint="such an answer is broken or hostile; check the business server")


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests containers more than ``limit`` deep (iterative: no recursion)."""
    if not isinstance(data, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
