"""The per-instance journal of inbound calls and outbound requests.

Rows never hold secrets: URLs are stored without credentials or signature/key query
parameters (see :func:`redact_url`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import re
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import insert

from framework.errors import RaccordError
from framework.storage import bulk
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
    if url[:1] == "/" and url[1:2] != "/" and "#" not in url and url.isprintable():
        # A path and its query (every inbound row): what urlsplit/urlunsplit would give,
        # without them — no scheme, no host, nothing they would strip (tests compare).
        path, _, query = url.partition("?")
        return f"{path}?{_redact_query(query)}" if query else path
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    query = _redact_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_query(query: str) -> str:
    return "&".join(_redact_pair(pair) for pair in query.split("&"))


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
    if _is_secret_name(name) if len(name) <= 64 else unquote_plus(name).lower() in SECRET_PARAMS:
        return f"{name}=***"
    return pair


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    # Twice per call (inbound and outbound URL) for each parameter: a call's names
    # are a handful, the same on every call; the bounds (1,024 names of at most 64
    # characters) keep a scanner's names from growing it.
    return unquote_plus(name).lower() in SECRET_PARAMS


def record(db: Database, *, direction: str, instance: str, **fields: Any) -> None:
    """Write one journal row (``direction`` is ``"in"`` or ``"out"``)."""
    if fields.get("url"):
        fields["url"] = redact_url(str(fields["url"]))
    row = {"at": dt.datetime.now(dt.UTC), "direction": direction, "instance": instance, **fields}
    with db.engine.begin() as conn:
        conn.execute(insert(journal), row)


#: Rows a writer keeps waiting at most. Beyond, a new row is dropped and counted
#: (``raccord_journal_rows_dropped_total{reason="queue_full"}``) rather than wait: the
#: journal is a record of calls, never a reason to slow one. ~1 KiB a row: ~20 MiB.
MAX_QUEUED = 20_000
#: Rows per write transaction. On SQLite a flush holds the file's single write lock, so
#: it is written in short transactions (~0.1–0.3 ms each) that a nonce insert of this
#: or another process can slip between. On both, the writer yields the GIL between two
#: chunks: turning rows into the driver's tuples is Python work, and a request thread
#: waiting for the GIL would otherwise wait up to the 5 ms switch interval.
CHUNK = 100
DROP_LOG_EVERY = 60.0  # seconds between two "rows dropped" warnings of one writer


class BatchedJournal:
    """Journal rows written in batches off the calling thread, never blocking it.

    A call only appends a tuple to a bounded in-memory queue (a ``deque``: no lock, no
    I/O). A daemon thread writes what accumulated every ``interval`` seconds, or as soon
    as ``batch`` rows wait, through the raw driver (:mod:`framework.storage.bulk`:
    ``executemany`` on SQLite, ``COPY`` on PostgreSQL) in short transactions. Nothing is
    shared with the nonce store: no lock, no connection (SQLite's own file lock aside,
    held one short chunk at a time). ``flush()`` writes now (tests, ``close()``, process
    exit). URLs are redacted when queued, so no secret waits in memory. The thread starts
    on first use: in each gunicorn worker after the fork, not in the master.

    When ``max_queued`` rows wait (the database is away or slower than the calls), new
    rows are dropped and counted, never waited for. What a ``kill -9`` loses: the rows
    queued since the last flush (at most ``interval`` seconds of calls, or ``batch``
    rows) and the chunk being written; docs/runtime.md, "The journal's durability".
    """

    def __init__(self, db: Database, direction: str, *, interval: float, batch: int,
                 max_queued: int = MAX_QUEUED) -> None:
        self.db = db
        self.direction = direction
        self.interval = interval
        self.batch = batch
        self.max_queued = max_queued
        self.chunk = CHUNK
        self.dropped = 0  # rows given up in this process (queue full or database error)
        self._rows: deque[tuple[float, dict[str, Any]]] = deque()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._flush_lock = threading.Lock()  # this writer's flushes only: never taken by a call
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._next_drop_log = 0.0
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.flush())

    def record(self, *, instance: str, **fields: Any) -> None:
        """Queue one row (``url`` is redacted here); drop it if the queue is full."""
        if len(self._rows) >= self.max_queued:
            self._drop(1, "queue_full", None)
            return
        if fields.get("url"):
            fields["url"] = redact_url(str(fields["url"]))
        fields["instance"] = instance
        self._rows.append((time.time(), fields))
        if self._thread is None:
            self._start()
        if len(self._rows) >= self.batch and not self._wake.is_set():
            self._wake.set()

    def pending(self) -> int:
        """Rows queued and not written yet."""
        return len(self._rows)

    def flush(self) -> int:
        """Write every queued row now; return how many were written."""
        with self._flush_lock:
            written, todo = 0, len(self._rows)  # what waits now; later rows are the next flush's
            with bulk.Appender(self.db, journal, _COLUMNS) as appender:
                while todo > 0 and (rows := self._take(min(self.chunk, todo))):
                    todo -= len(rows)
                    try:
                        appender.append(rows)
                    except Exception as exc:  # the journal is a record, not the call: say what was lost
                        self._drop(len(rows), "database_error", exc)
                        break  # the rest waits for the next flush (the queue is bounded)
                    written += len(rows)
                    if todo > 0:
                        time.sleep(0)  # let the request threads run (see CHUNK)
            return written

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _take(self, count: int) -> list[tuple[Any, ...]]:
        rows = []
        direction, popleft = self.direction, self._rows.popleft
        for _ in range(count):
            try:
                at, fields = popleft()
            except IndexError:
                break
            rows.append((dt.datetime.fromtimestamp(at, dt.UTC), direction,
                         *[fields.get(name) for name in _FIELDS]))
        return rows

    def _drop(self, count: int, reason: str, exc: BaseException | None) -> None:
        from framework import metrics

        self.dropped += count
        metrics.journal_dropped(self.direction, reason, count)
        if exc is not None:
            log.error("lost %d %s journal rows: %s: %s", count, self.direction, type(exc).__name__, exc)
        elif (now := time.monotonic()) >= self._next_drop_log:
            self._next_drop_log = now + DROP_LOG_EVERY
            log.warning("%s journal queue full (%d rows waiting): new rows are dropped and counted in "
                        "raccord_journal_rows_dropped_total", self.direction, len(self._rows))

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


#: The journal's columns after ``at`` and ``direction``, in the order rows are written.
_FIELDS = ("instance", "profile", "endpoint", "client", "method", "url", "status", "duration_ms",
           "err_class", "error", "override", "incident")
_COLUMNS = ("at", "direction", *_FIELDS)
