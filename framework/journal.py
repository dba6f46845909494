"""The per-instance journal of inbound calls and outbound requests.

Rows never hold secrets: URLs are stored without credentials or signature/key query
parameters (see :func:`redact_url`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import queue
import re
import threading
import traceback
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import insert

from framework.errors import RaccordError
from framework.storage.db import Database
from framework.storage.schema import journal

log = logging.getLogger("raccord.journal")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)

#: Query parameters whose values are credentials, never written anywhere.
SECRET_PARAMS = frozenset({"signature", "apikey", "api_key", "key", "token", "access_token",
                           "password", "secret", "nonce"})


def redact_url(url: str) -> str:
    """``url`` without user:password and with secret query values replaced by ``***``.

    Runs on every journaled call, so it rewrites only what it must: other parameters
    stay byte for byte as received (re-encoding the whole query cost ~100 µs a call).
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def host_of(url: str) -> str:
    """``host:port`` of ``url`` for a message: never user:password, path or query."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        host, port = parts.hostname, None
    if not host:
        return redact_url(url).partition("?")[0] or "the server"
    return f"{host}:{port}" if port else host


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret value replaced by ``***``, as written and URL-encoded."""
    for secret in secrets:
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            text = text.replace(form, "***")
    return text


def mask_text(text: str, binding: Any = None) -> str:
    """Free text (an error, a traceback) with every URL redacted and the binding's
    secret values masked."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return mask_secrets(text, binding.secret_values() if binding is not None else ())


_EMAIL = re.compile(r"[\w.+'-]+@([\w-]+(?:\.[\w-]+)*)")


def mask_email(address: str) -> str:
    """A person's e-mail address as it may be logged: ``jean.dupont@example.fr`` →
    ``j***@e***.fr`` (enough to tell two apart in a log, not to write to them)."""
    local, _, domain = address.strip().partition("@")
    if not domain:
        return "***"
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(name or tld)[:1]}***.{tld if name else ''}".rstrip(".")


def mask_emails(text: str) -> str:
    """``text`` with every e-mail address in it masked (:func:`mask_email`)."""
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def masked_traceback(exc: BaseException, binding: Any = None) -> str:
    """An exception's traceback as the administrator may read it (log, CLI): URLs
    redacted and the binding's secrets masked, like any text raccord shows."""
    return mask_text("".join(traceback.format_exception(exc)), binding)


@contextmanager
def masked_errors(binding: Any = None) -> Iterator[None]:
    """RaccordErrors raised inside leave with their message and hint masked
    (:func:`mask_text`): whatever a connector quoted, the caller never reads a URL
    credential or a secret of the binding."""
    try:
        yield
    except RaccordError as exc:
        exc.message = mask_text(exc.message, binding)
        if exc.hint:
            exc.hint = mask_text(exc.hint, binding)
        exc.args = (exc.message,)
        raise


def _redact_pair(pair: str) -> str:
    name = pair.partition("=")[0]
    if unquote_plus(name).lower() in SECRET_PARAMS:
        return f"{name}=***"
    return pair


def record(db: Database, *, direction: str, instance: str, **fields: Any) -> None:
    """Write one journal row (``direction`` is ``"in"`` or ``"out"``)."""
    if fields.get("url"):
        fields["url"] = redact_url(str(fields["url"]))
    row = {"at": dt.datetime.now(dt.UTC), "direction": direction, "instance": instance, **fields}
    with db.engine.begin() as conn:
        conn.execute(insert(journal), row)


class BatchedJournal:
    """Journal rows written in batches off the calling thread.

    One synchronous insert per call costs ~140–170 µs of SQLAlchemy and SQLite work in
    the call's critical path (docs/benchmarks/gateway.md, outbound_overhead.md); a call
    here only queues a dict (~7 µs). A daemon thread writes what accumulated every
    ``interval`` seconds, or as soon as ``batch`` rows wait, in one transaction;
    ``flush()`` writes now (tests, ``close()``, process exit). URLs are redacted when
    queued, so no secret waits in memory. The thread starts on first use: in each
    gunicorn worker after the fork, not in the master.
    """

    def __init__(self, db: Database, direction: str, *, interval: float, batch: int,
                 write_lock: threading.Lock | None = None) -> None:
        self.db = db
        self.direction = direction
        self.interval = interval
        self.batch = batch
        self._db_lock = write_lock or threading.Lock()  # SQLite: shared with the nonce store
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.flush())

    def record(self, *, instance: str, **fields: Any) -> None:
        """Queue one row (``url`` is redacted here)."""
        if fields.get("url"):
            fields["url"] = redact_url(str(fields["url"]))
        self._queue.put({"at": dt.datetime.now(dt.UTC), "direction": self.direction, "instance": instance,
                         **fields})
        if self._thread is None:
            self._start()
        if self._queue.qsize() >= self.batch:
            self._wake.set()

    def flush(self) -> int:
        """Write every queued row now; return how many were written."""
        with self._flush_lock:
            rows: list[dict[str, Any]] = []
            while True:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not rows:
                return 0
            try:
                with self._db_lock, self.db.engine.begin() as conn:
                    conn.execute(insert(journal), rows)
            except Exception as exc:  # the journal is a record, not the call: say what was lost
                log.error("lost %d %s journal rows: %s: %s", len(rows), self.direction, type(exc).__name__, exc)
                return 0
            return len(rows)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name=f"raccord-journal-{self.direction}",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
