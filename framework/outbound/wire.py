"""The body of an answer read straight from ``http.client``: what ``requests.Response.raw``
must offer, bounded.

:class:`WireAnswer` is the ``raw`` of a response sent by the direct transport
(:mod:`.direct`). requests reads it through ``raw.stream(chunk, decode_content=True)``
(``iter_content``, hence ``read_body``'s capped read) and maps urllib3's exceptions
raised there to its own, so this raises urllib3's: a body cut short or a broken chunk
→ ``ProtocolError`` (requests' ``ChunkedEncodingError``), a corrupt gzip/deflate body
→ ``DecodeError`` (``ContentDecodingError``), a read timeout → ``ReadTimeoutError``
(``ConnectionError``, as requests has it).

gzip and deflate are decoded with ``max_length``: one read never yields more than the
chunk asked for, whatever the compression ratio, so a gzip bomb costs the size cap plus
one chunk like any other answer. Other encodings are passed through undecoded, as
urllib3 does with an encoding it does not know.

The connection goes back to its pool only once the answer has been read to its end and
the server keeps it open; an answer abandoned (cap exceeded, error, closed early)
closes it.
"""

from __future__ import annotations

import http.client
import ssl
import zlib
from collections.abc import Callable, Iterator

from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

_GZIP = 16 + zlib.MAX_WBITS


class _Inflater:
    """A gzip or deflate decoder whose every output is at most ``limit`` bytes."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._started = False
        self._obj = zlib.decompressobj(_GZIP if gzip else zlib.MAX_WBITS)
        self._carry = b""  # input of the next gzip member
        self._done = False  # past the last member: the rest is ignored, as urllib3 does

    @property
    def pending(self) -> bool:
        """Input already received whose output did not fit in the last chunk."""
        return not self._done and bool(self._obj.unconsumed_tail or self._carry)

    def more(self, limit: int) -> bytes:
        if self._obj.unconsumed_tail:
            return self.feed(self._obj.unconsumed_tail, limit)
        carry, self._carry = self._carry, b""
        self._obj = zlib.decompressobj(_GZIP)
        try:
            return self.feed(carry, limit)
        except zlib.error:  # trailing bytes that are no gzip member
            self._done = True
            return b""

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._done:
            return b""
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if self._gzip or self._started:
                raise
            # "deflate" sent as a raw deflate stream (no zlib header): common, accepted.
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, limit)
        self._started = True
        if self._obj.eof and self._obj.unused_data:
            if self._gzip:
                self._carry = self._obj.unused_data  # another member follows
            else:
                self._done = True
        return out


class WireAnswer:
    """``Response.raw`` over an ``http.client.HTTPResponse`` (see the module docstring)."""

    def __init__(self, answer: http.client.HTTPResponse, headers: CaseInsensitiveDict[str],
                 release: Callable[[bool], None]) -> None:
        self._original_response = answer  # what requests' cookie extraction reads
        self._fp: http.client.HTTPResponse | None = answer
        self.headers = headers
        self.status = answer.status
        self.reason = answer.reason
        self.version = answer.version
        self._release: Callable[[bool], None] | None = release
        encoding = headers.get("Content-Encoding", "").strip().lower()
        self._inflater = _Inflater(encoding != "deflate") if encoding in ("gzip", "x-gzip", "deflate") else None
        if answer.length == 0:  # nothing to read (HEAD, 204, 304, Content-Length: 0)
            self._finish()

    @property
    def closed(self) -> bool:
        return self._fp is None

    def stream(self, amt: int = 65536, decode_content: bool = True) -> Iterator[bytes]:
        while True:
            data = self.read(amt, decode_content)
            if not data:
                return
            yield data

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        """Up to ``amt`` bytes of the body (decoded unless asked otherwise); all of it
        without ``amt``; b"" at the end."""
        if amt is None:
            return b"".join(self.stream(65536, decode_content))
        inflater = self._inflater if decode_content else None
        if inflater is None:
            return self._read_raw(amt)
        while True:
            try:
                if inflater.pending:
                    out = inflater.more(amt)
                else:
                    data = self._read_raw(amt)
                    if not data:
                        return b""
                    out = inflater.feed(data, amt)
            except zlib.error as exc:
                self.close()
                raise DecodeError(f"Received response with content-encoding: "
                                  f"{self.headers.get('Content-Encoding')}, but failed to decode it: {exc}") from None
            if out:
                return out

    def _read_raw(self, amt: int) -> bytes:
        answer = self._fp
        if answer is None:
            return b""
        try:
            data = answer.read1(amt)
        except TimeoutError:
            self.close()
            raise ReadTimeoutError(None, None, "Read timed out.") from None  # type: ignore[arg-type]
        except ssl.SSLError as exc:
            self.close()
            raise Urllib3SSLError(f"TLS error while reading the answer: {exc.reason or type(exc).__name__}") from None
        except (http.client.HTTPException, OSError) as exc:
            self.close()
            raise ProtocolError(f"Connection broken: {type(exc).__name__}") from None
        if not data:
            if answer.length:  # Content-Length not reached: the server closed early
                self.close()
                raise ProtocolError(f"Connection broken: IncompleteRead ({answer.length} bytes missing)")
            self._finish()
        elif answer.length == 0 or answer.isclosed():
            self._finish()
        return data

    def _finish(self) -> None:
        """The body is read to its end: the connection may serve another call."""
        self._let_go(reusable=True)

    def close(self) -> None:
        """Drop the answer; unread, its connection is closed, never reused."""
        self._let_go(reusable=False)

    def _let_go(self, *, reusable: bool) -> None:
        answer, self._fp = self._fp, None
        if answer is not None:
            # read1 never closes an answer whose Content-Length it reached: http.client
            # refuses the next request on the connection until it is.
            answer.close()
        release, self._release = self._release, None
        if release is not None:
            release(reusable)

    def release_conn(self) -> None:
        # requests calls it from Response.close: a body read to its end was released
        # already, anything else is abandoned.
        self.close()
