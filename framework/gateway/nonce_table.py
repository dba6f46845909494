"""The nonces seen by the gateways of one SQLite database, in a shared-memory table.

On SQLite (one machine), a replay must be refused by every gateway process using the
database. Inserting each nonce into the database file does that, but every insert takes
SQLite's single write lock, contended by the other workers, the journal writers and the
job queue: under load that insert was the signed call's main cost
(docs/benchmarks/gateway.md). Here the decision is a lookup in a hash table kept in a
file beside the database (``<database>-nonces``, like SQLite's own ``-shm``), mapped
into memory by every process that checks signatures: a few microseconds, and the same
answer in every worker of every gateway on that file. The database still gets every
nonce, a few milliseconds later and in batches (:class:`framework.gateway.nonces.WriteBehind`):
a table file found missing or damaged is rebuilt from the database's recent nonces.

Layout: a header (:data:`HEADER`: magic, version, slot count), then ``slots`` fixed
slots of :data:`SLOT` (the 16-byte BLAKE2b digest of orig and nonce, the expiry time);
open addressing with linear probing over at most :data:`PROBE` slots. A slot is never
cleared, only overwritten once expired, so a probe stops at the first slot never used.
No free slot within :data:`PROBE` slots (a table far past half full): :attr:`Claim.FULL`,
a 503 for that call, never a guess. One process at a time changes the table: a thread
lock, then a POSIX record lock (``lockf``) on the file, which the kernel releases if the
holder dies: a worker killed mid-claim cannot wedge the others. The file's pages live in
the page cache: a process killed loses nothing, a machine crash may lose the last
seconds, which the database's copy (written behind) mostly holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from enum import Enum

#: Header: magic, layout version, number of slots (padded to 64 bytes).
HEADER = struct.Struct("<16sII40x")
MAGIC = b"raccord-nonces\0\0"
VERSION = 1
#: One slot: the digest of (orig, nonce), then until when (Unix time) it is remembered.
#: All zeroes: never used.
SLOT = struct.Struct("<16sd")
#: Slots a claim looks at before answering FULL: long enough that a table under half
#: full practically never fills a run of them (linear probing's clusters stay short).
PROBE = 128
#: 2**20 slots, a 24 MiB sparse file: ~400,000 live nonces (3,000 signed calls a second,
#: each kept 2 × 60 s) at under half full.
DEFAULT_SLOTS = 1 << 20

#: Recent nonces of the database, as (orig, nonce, until): what a new table starts with.
Recent = Callable[[], Iterable[tuple[str, str, float]]]


class Claim(Enum):
    NEW = "new"  # not seen: now remembered
    SEEN = "seen"  # remembered and not expired: a replay
    FULL = "full"  # no room near its slot


class NonceTable:
    """A fixed-size set of (orig, nonce) with expiry, in a file shared by processes."""

    def __init__(self, path: str, recent: Recent, slots: int = DEFAULT_SLOTS) -> None:
        if slots < PROBE or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two ≥ {PROBE}, not {slots}")
        self.path = path
        self.slots = slots
        self._mask = slots - 1
        self._recent = recent
        self._pid = os.getpid()
        self._threads = threading.Lock()
        self._fd = -1
        self._mem: mmap.mmap | None = None
        self._identity = (0, 0)
        self._open()

    # -- the file ---------------------------------------------------------------------

    def _open(self) -> None:
        """Map the table file; a missing one is created and filled from the database's
        recent nonces, under the file's lock (one process builds it, the others wait). A
        damaged or foreign one (another layout) is rebuilt aside and renamed over it:
        never truncated under processes that map it (they would fault), who move to the
        new file at their next claim (:meth:`_replaced`)."""
        size = HEADER.size + self.slots * SLOT.size
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                st = os.fstat(fd)
                if not self._is_path_of(st):
                    continue  # replaced while this process waited for the lock: reopen
                if st.st_size == 0:  # new: nobody maps it yet
                    os.ftruncate(fd, size)  # sparse: disk and memory are used as slots fill
                    self._map(fd, st)
                    self._fill(fd)
                    return
                if self._valid(fd, size):
                    self._map(fd, st)
                    return
                self._rebuild_aside()
            finally:
                if self._fd != fd:
                    os.close(fd)  # also drops this process's lock on it
                else:
                    fcntl.lockf(fd, fcntl.LOCK_UN)

    def _map(self, fd: int, st: os.stat_result) -> None:
        mem = mmap.mmap(fd, HEADER.size + self.slots * SLOT.size)  # MAP_SHARED
        self._close_map()
        self._fd, self._mem, self._identity = fd, mem, (st.st_dev, st.st_ino)

    def _fill(self, fd: int) -> None:
        now = time.time()
        for orig, nonce, until in self._recent():
            if until > now:
                self._claim_locked(_digest(orig, nonce), now, until)
        # The header last: a table whose filling failed is rebuilt the next time.
        os.pwrite(fd, HEADER.pack(MAGIC, VERSION, self.slots), 0)

    def _rebuild_aside(self) -> None:
        """A complete new table under a temporary name, then renamed over the path."""
        aside = f"{self.path}.{os.getpid()}.new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(aside)
        fd = os.open(aside, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, HEADER.size + self.slots * SLOT.size)
            self._map(fd, os.fstat(fd))
            self._fill(fd)
            os.replace(aside, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(aside)
            raise
        finally:
            self._close_map()  # the loop maps the file at the path, like every process

    def _is_path_of(self, st: os.stat_result) -> bool:
        try:
            at = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (at.st_dev, at.st_ino) == (st.st_dev, st.st_ino)

    def _valid(self, fd: int, size: int) -> bool:
        if os.fstat(fd).st_size != size:
            return False
        magic, version, slots = HEADER.unpack(os.pread(fd, HEADER.size, 0))
        return bool(magic == MAGIC and version == VERSION and slots == self.slots)

    def _replaced(self) -> bool:
        """Has the file been deleted, replaced or truncated since it was mapped? (one
        ``stat``: reading a mapping past the end of a truncated file would fault)"""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._identity or st.st_size != HEADER.size + self.slots * SLOT.size

    # -- claims -----------------------------------------------------------------------

    def claim(self, orig: str, nonce: str, now: float, until: float) -> Claim:
        """Remember (orig, nonce) until ``until`` unless it is remembered past ``now``."""
        digest = _digest(orig, nonce)
        if self._replaced():
            # Processes mapping different files would not see each other's nonces: every
            # process moves to the file at the path (rebuilt from the database if needed).
            with self._thread_lock():
                if self._replaced():
                    self._open()
        with self._locked():
            return self._claim_locked(digest, now, until)

    def _claim_locked(self, digest: bytes, now: float, until: float) -> Claim:
        mem = self._mem
        assert mem is not None
        start = int.from_bytes(digest[:8], "little")
        mask, size, base, unpack = self._mask, SLOT.size, HEADER.size, SLOT.unpack_from
        free = -1
        for i in range(PROBE):
            offset = base + ((start + i) & mask) * size
            seen, expires = unpack(mem, offset)
            if expires == 0.0:  # never used: nothing was ever placed past it
                free = offset if free < 0 else free
                break
            if expires <= now:  # expired: reusable, but the nonce may be further on
                free = offset if free < 0 else free
            elif seen == digest:
                return Claim.SEEN
        if free < 0:
            return Claim.FULL
        SLOT.pack_into(mem, free, digest, until)
        return Claim.NEW

    def live(self, now: float) -> int:
        """How many slots hold a nonce not yet expired (a full scan: tests, status)."""
        with self._locked():
            assert self._mem is not None
            return sum(1 for i in range(self.slots)
                       if SLOT.unpack_from(self._mem, HEADER.size + i * SLOT.size)[1] > now)

    def _thread_lock(self) -> threading.Lock:
        if self._pid != os.getpid():
            # A fork copied the thread lock in whatever state it was: this process's own.
            self._threads, self._pid = threading.Lock(), os.getpid()
        return self._threads

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock():
            fd = self._fd
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN)

    def _close_map(self) -> None:
        if self._mem is not None:
            self._mem.close()
            self._mem = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        with self._thread_lock():
            self._close_map()


def _digest(orig: str, nonce: str) -> bytes:
    return hashlib.blake2b(f"{orig}\0{nonce}".encode(), digest_size=16).digest()


_tables: dict[str, NonceTable] = {}
_tables_lock = threading.Lock()


def shared_table(path: str, recent: Recent) -> NonceTable:
    """The process's one table for the file at ``path``: POSIX record locks belong to a
    process, and closing any descriptor of a file drops them all, so two tables of one
    process on one file would undo each other's locks. It lives as long as the process."""
    key = os.path.realpath(path)
    with _tables_lock:
        table = _tables.get(key)
        if table is None:
            table = _tables[key] = NonceTable(key, recent)
        return table
