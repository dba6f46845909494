"""The verification memo: results of pure verifications that need a heavy library.

``raccord check`` verifies every declaration with the code the runtime uses: each body
schema against the JSON Schema 2020-12 metaschema and each body example against its
schema (jsonschema), each cron schedule with APScheduler's own parser. Importing those
libraries and running the metaschema costs more than the rest of a small check. The
verdicts are deterministic functions of their input and of the code computing them,
so they are remembered, like bytecode: :func:`remembered` returns the messages a
verification produced last time for the same input — an empty list when it accepted
— without importing the library; a miss runs the verification and records it.

What keys an entry — anything that could change a verdict:

- the input's canonical JSON text, insertion order kept (a validator's messages may
  depend on the order it meets keywords). An input that JSON does not represent
  exactly (a tuple, a set, a ``dict`` subclass, a non-string key, NaN) is never
  memoised: it is verified every time;
- the library's location and the modification time of its ``__init__`` and of the
  directory it is installed in (installing, upgrading or removing a package there —
  the library or one of its optional helpers — changes that directory), the Python
  version, and a hash of the source of the module that computes the messages.

Where: ``$RACCORD_CACHE_DIR`` if set (empty: no memo), else ``$XDG_CACHE_HOME/raccord``
or ``~/.cache/raccord``; one small JSON file per library and environment. Trust: only
a file the current user owns, that nobody else may write, in a directory the user
owns that nobody else may write, is read — whoever else could write it could make
``check`` accept an invalid declaration. Created 0600 in a 0700 directory, written to a
temporary file and renamed. Whatever goes wrong — unreadable, corrupt, foreign,
unwritable — the verification simply runs: the memo is never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

CACHE_ENV = "RACCORD_CACHE_DIR"
_FORMAT = 1
_MAX_BYTES = 4 * 1024 * 1024  # a few KB in practice; anything larger is not ours
_MAX_ENTRIES = 10_000  # a file past this starts again (schemas edited many times)
_KEEP_FILES = 8  # per library: older environments' files are removed
_MAX_DEPTH = 64  # deeper inputs are verified every time, never recursed into

_memos: dict[tuple[str, str], _Memo | None] = {}


def remembered(library: str, kind: str, payload: object, verify: Callable[[], list[str]], *,
               source: str) -> list[str]:
    """The messages of ``verify()`` (none: accepted), remembered for ``payload``.

    ``library`` is the top-level module ``verify`` imports; ``kind`` names the
    verification; ``source`` is the file of the module that defines ``verify`` (a change
    to it is a change of verdicts)."""
    text = canonical(payload)
    memo = _memo(library, source) if text is not None else None
    if memo is None or text is None:
        return verify()
    key = hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()
    hit = memo.entries.get(key)
    if hit is not None:
        return list(hit)
    problems = verify()
    memo.record(key, problems)
    return problems


def canonical(value: object) -> str | None:
    """The JSON text of ``value`` if JSON represents it exactly, else None."""
    if not _plain(value, 0):
        return None
    try:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


def _plain(value: object, depth: int) -> bool:
    # Exact types only: a subclass may compare, iterate or print differently.
    if type(value) in (str, int, float, bool) or value is None:
        return True
    if depth >= _MAX_DEPTH:
        return False
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    return False


def forget() -> None:
    """Read the files again at the next lookup (tests: a process reads each file once)."""
    _memos.clear()


def cache_dir() -> Path | None:
    """Where the memo lives, or None when ``RACCORD_CACHE_DIR`` is set empty."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or ""
    # XDG: a relative value is invalid and is ignored.
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "raccord"


class _Memo:
    """One library's remembered verdicts in one environment, and the file they live in."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.entries = _read(path, fingerprint)

    def record(self, key: str, problems: list[str]) -> None:
        if len(self.entries) >= _MAX_ENTRIES:
            self.entries = {}
        self.entries[key] = list(problems)
        fresh = not self.path.exists()
        doc = {"format": _FORMAT, "fingerprint": self.fingerprint, "entries": self.entries}
        if _write(self.path, json.dumps(doc, separators=(",", ":")).encode()) and fresh:
            _prune(self.path)


def _memo(library: str, source: str) -> _Memo | None:
    if (library, source) not in _memos:
        _memos[library, source] = _open(library, source)
    return _memos[library, source]


def _open(library: str, source: str) -> _Memo | None:
    folder = cache_dir()
    fingerprint = _fingerprint(library, source)
    if folder is None or fingerprint is None:
        return None
    return _Memo(folder / f"verify-{library}-{fingerprint[:20]}.json", fingerprint)


def _fingerprint(library: str, source: str) -> str | None:
    from importlib.util import find_spec  # finds, does not import: a top-level name has no parent to run

    try:
        spec = find_spec(library)
        origin = spec.origin if spec is not None else None
        if origin is None:
            return None
        code = Path(source).read_bytes()
        init, home = os.stat(origin), os.stat(Path(origin).parent.parent)
    except (OSError, ImportError, ValueError):
        return None
    parts = [str(_FORMAT), sys.version, origin, str(init.st_mtime_ns), str(init.st_size), str(home.st_mtime_ns),
             hashlib.sha256(code).hexdigest()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _trusted(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else: no one else could have put a verdict in it."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path, fingerprint: str) -> dict[str, list[str]]:
    try:
        if not _trusted(os.stat(path.parent)):
            return {}
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode) or not _trusted(st) or st.st_size > _MAX_BYTES:
                return {}
            doc = json.loads(handle.read(_MAX_BYTES + 1))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("fingerprint") != fingerprint:
        return {}
    entries = doc.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items()
            if isinstance(v, list) and all(isinstance(m, str) for m in v)}


def _write(path: Path, data: bytes) -> bool:
    folder = path.parent
    temp = folder / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(os.stat(folder)):
            return False
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def _prune(path: Path) -> None:
    """Keep the newest few files of this library: the others are older environments'."""
    library = path.name.rsplit("-", 1)[0]
    try:
        files = sorted(path.parent.glob(f"{library}-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in files[_KEEP_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
