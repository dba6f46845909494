"""A database failure as the caller sees it: 503 ``raccord.unavailable`` with a retry
hint, logged once for the administrator (without the statement or its parameters)."""

from __future__ import annotations

import logging

from framework.errors import Unavailable
from framework.storage.db import RETRY_AFTER_S, database_error_text

log = logging.getLogger("raccord.storage")


class DatabaseUnavailable(Unavailable):
    retry_after = RETRY_AFTER_S


def database_unavailable(exc: BaseException, where: str) -> DatabaseUnavailable:
    text = database_error_text(exc)
    log.error("database unavailable during %s: %s", where, text)
    return DatabaseUnavailable("raccord's database is unavailable right now: the call was not completed",
                               hint=f"retry in {RETRY_AFTER_S} s; the administrator sees why in the logs")
