"""The nonces one gateway has seen, in memory shared by its master and its workers.

On SQLite (one machine, one gateway: :func:`claim_gateway`), a replay must be refused
by every worker process of that gateway. Inserting each nonce into the database file
does that, but every insert takes SQLite's single write lock, contended by the other
workers, the journal writers and the job queue: under load that insert was the signed
call's main cost (docs/benchmarks/gateway.md). Here the check is a lookup in a hash
table in anonymous shared memory, mapped by the master before it forks, so every worker
sees the same pages; the database gets the nonces a few milliseconds later, in batches
(:class:`framework.gateway.nonces.NonceStore`), so that a restarted gateway still
refuses them (the master loads the recent ones back before forking).

Layout: ``slots`` fixed slots of :data:`SLOT` (the 16-byte BLAKE2b digest of orig and
nonce, the expiry time); open addressing with linear probing over at most
:data:`PROBE` slots. A slot is never cleared, only overwritten once expired, so a probe
stops at the first slot never used. With no free slot within :data:`PROBE` slots the
table answers :attr:`Claim.FULL` and the caller asks the database instead (exact too:
the nonce is then in no live slot of the table). One process at a time changes the
table: a thread lock, then a POSIX record lock (``lockf``) on a file of the master's,
which the kernel releases if the holder dies (a worker killed mid-claim cannot wedge
the others).

What crosses the fork is a memory mapping and one file descriptor: no thread, engine or
socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import IO

#: One slot: the digest of (orig, nonce), then until when (Unix time) it is remembered.
#: All zeroes: never used.
SLOT = struct.Struct("<16sd")
#: Slots a claim looks at before answering FULL: long enough that a table under half
#: full practically never fills a run of them (linear probing's clusters stay short).
PROBE = 128
#: 2**20 slots, 24 MiB of shared memory (touched as it fills): ~400,000 live nonces,
#: i.e. 3,000 signed calls a second kept 2 × 60 s, at under half full.
DEFAULT_SLOTS = 1 << 20


class Claim(Enum):
    NEW = "new"  # not seen: now remembered
    SEEN = "seen"  # remembered and not expired: a replay
    FULL = "full"  # no room near its slot: the database must decide


class NonceTable:
    """A fixed-size set of (orig, nonce) with expiry, shared by forked processes."""

    def __init__(self, slots: int = DEFAULT_SLOTS) -> None:
        if slots < PROBE or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two ≥ {PROBE}, not {slots}")
        self.slots = slots
        self._mask = slots - 1
        # fileno -1: anonymous memory, MAP_SHARED by default: forks share these pages.
        self._mem = mmap.mmap(-1, slots * SLOT.size)
        # Held open for the table's life (closed by close()), hence no context manager.
        self._lock_file: IO[bytes] = tempfile.TemporaryFile(prefix="raccord-nonces-")  # noqa: SIM115
        self._pid = os.getpid()
        self._threads = threading.Lock()

    def claim(self, orig: str, nonce: str, now: float, until: float) -> Claim:
        """Remember (orig, nonce) until ``until`` unless it is remembered past ``now``."""
        digest = _digest(orig, nonce)
        start = int.from_bytes(digest[:8], "little")
        mem, mask, size, unpack = self._mem, self._mask, SLOT.size, SLOT.unpack_from
        with self._locked():
            free = -1
            for i in range(PROBE):
                offset = ((start + i) & mask) * size
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

    def load(self, rows: Iterable[tuple[str, str, float]], now: float) -> int:
        """Remember nonces seen earlier, as (orig, nonce, until); return how many fitted."""
        return sum(self.claim(orig, nonce, now, until) is Claim.NEW for orig, nonce, until in rows if until > now)

    def live(self, now: float) -> int:
        """How many slots hold a nonce not yet expired (a full scan: for tests and status)."""
        with self._locked():
            return sum(1 for i in range(self.slots) if SLOT.unpack_from(self._mem, i * SLOT.size)[1] > now)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._pid != os.getpid():
            # A fork copied the thread lock in whatever state it was: this process's own.
            self._threads, self._pid = threading.Lock(), os.getpid()
        with self._threads:
            fd = self._lock_file.fileno()
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._mem.close()
        self._lock_file.close()


def _digest(orig: str, nonce: str) -> bytes:
    return hashlib.blake2b(f"{orig}\0{nonce}".encode(), digest_size=16).digest()


#: How long a starting gateway waits for a previous one on the same SQLite database to
#: let go (its workers finish their last calls after a restart).
GATEWAY_LOCK_WAIT = 10.0


class GatewayLock:
    """This process serves the gateway of one SQLite database, and no other does.

    The nonce table is shared by one master's processes only: a second gateway on the
    same file would not see it, and a replay sent to it within the milliseconds before
    the first gateway writes its nonces down would pass. So the master holds a POSIX
    record lock on ``<database>.gateway.lock`` while it runs (the kernel releases it when
    the master exits, however it exits; forked workers do not inherit it)."""

    def __init__(self, database: str, wait: float = GATEWAY_LOCK_WAIT) -> None:
        from framework.errors import ConfigError

        self.path = f"{database}.gateway.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(self._fd)
                    raise ConfigError(
                        "another raccord gateway is serving this SQLite database",
                        hint="on SQLite one gateway serves a database: give it more --workers, "
                             "or move the database to PostgreSQL to run several") from None
                time.sleep(0.1)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
