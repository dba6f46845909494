"""Reading a file named in configuration: a regular file of bounded size, never a hang.

A FIFO blocks ``open()`` until a writer comes (``serve`` never started), ``/dev/zero``
grows the process without bound, a directory or a 10 GB file is a typo: each is
refused with a :class:`~framework.errors.FileRefused` naming what the path is, before
a single byte is read. Missing and unreadable files raise ``OSError`` as usual, for the
caller to word (a missing secret is a warning for ``check``, a wrong kind an error).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from framework.errors import FileRefused

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))
# O_NONBLOCK: opening a FIFO without a writer returns at once (fstat then refuses it);
# on a regular file it changes nothing. O_NOCTTY: a terminal never becomes ours.
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


def kind(mode: int) -> str:
    """What a non-regular file is, for a person: "a named pipe (FIFO)", "a directory"…"""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bounded(path: str | Path, limit: int, what: str, hint: str | None = None) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    ``what`` names the file in messages ("secret file 'apikey.txt'"): callers pass the
    path as written in instances.toml, or the setting's name, never a server path
    beyond that; the file's content is never quoted.
    """
    # Looked at before opening: opening a device can act (a tape rewinds, a tty attaches).
    info = os.stat(path)
    _refuse(info.st_mode, info.st_size, limit, what, hint)
    fd = os.open(path, _FLAGS)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        _refuse(info.st_mode, info.st_size, limit, what, hint)  # swapped since the stat?
        data = fh.read(info.st_size + 1)
        if len(data) > info.st_size:  # it grew since: read on, to the limit only
            data += fh.read(limit + 1 - len(data))
    if len(data) > limit:
        raise FileRefused(f"{what} is over the {limit:,}-byte limit", hint=hint)
    return data


def _refuse(mode: int, size: int, limit: int, what: str, hint: str | None) -> None:
    if not stat.S_ISREG(mode):
        raise FileRefused(f"{what} is {kind(mode)}, not a regular file",
                          hint=hint or "give the path of a regular file")
    if size > limit:
        raise FileRefused(f"{what} is {size:,} bytes, over the {limit:,}-byte limit",
                          hint=hint or "is it the right file?")
