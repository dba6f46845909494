"""``/readyz``: is this gateway able to do its job right now?

Ready means: the configuration is loaded; the database answers within
:data:`PROBE_TIMEOUT` seconds, is the file that was opened (SQLite: not deleted or
replaced) and accepts writes (not read-only); and the background roles this serve
runs (job workers, scheduler) have fresh heartbeats. Otherwise 503, naming what
fails, so a load balancer sends the calls to another machine.

The probe runs in a helper thread bounded by a timeout: a hung database must not
hang the probe (a stopped PostgreSQL server holds a query forever). At most one probe
is in flight per process; while one hangs, the others report it at once.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy import text

from framework.storage.db import Database, database_error_text

PROBE_TIMEOUT = 2.0
_inflight: dict[int, Future[dict[str, Any]]] = {}
_guard = threading.Lock()


def readiness(raccord: Any) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {"config": f"{len(raccord.territory.instances)} instances"}
    db: Database = raccord.db
    future = _probe(db)
    try:
        checks.update(future.result(timeout=PROBE_TIMEOUT))
    except TimeoutError:
        checks["database"] = f"not answering within {PROBE_TIMEOUT:g} s"
    ok = all(v == "ok" for k, v in checks.items() if k != "config")
    return ok, checks


def _probe(db: Database) -> Future[dict[str, Any]]:
    with _guard:
        running = _inflight.get(id(db))
        if running is not None and not running.done():
            return running
        future: Future[dict[str, Any]] = Future()
        _inflight[id(db)] = future
    threading.Thread(target=_run, args=(db, future), name="raccord-readyz", daemon=True).start()
    return future


def _run(db: Database, future: Future[dict[str, Any]]) -> None:
    try:
        future.set_result(_checks(db))
    except BaseException as exc:  # reported as a check, never raised into the probe
        future.set_result({"database": f"unreachable: {database_error_text(exc)}"})


def _checks(db: Database) -> dict[str, Any]:
    from framework.runtime import heartbeat

    checks: dict[str, Any] = {}
    db.check_file()
    with db.engine.connect() as conn:
        if db.is_postgres:
            read_only = conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
        else:
            conn.execute(text("SELECT 1"))
            path = db.engine.url.database or ""
            read_only = bool(path) and not (os.access(path, os.W_OK) and os.access(os.path.dirname(path) or ".",
                                                                                    os.W_OK))
    checks["database"] = "read-only" if read_only else "ok"
    ident, roles = heartbeat.expected_roles()
    if ident and roles:
        late = heartbeat.missing(db, ident, roles)
        for role in sorted(roles):
            checks[role] = "not running" if role in late else "ok"
    return checks
