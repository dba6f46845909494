"""The serve master watches its background process (job workers + scheduler).

The background process is started fresh (``python -c …``, not forked: the gunicorn
master forks its workers and a fork must not copy live scheduler threads or database
connections). :meth:`Supervisor.poll`, called from the master's loop about once a
second and on SIGCHLD, restarts it when it dies, after a back-off that doubles from
:data:`FIRST_BACKOFF_S` up to :data:`MAX_BACKOFF_S` (reset once it has run
:data:`HEALTHY_AFTER_S`). Each restart is logged and counted: :data:`RESTARTS` in the
master, and a ``supervisor`` row in the database (:func:`heartbeat.supervisor_stats`)
for metrics and the status page. When it dies its heartbeats are marked stopped at
once, so ``/readyz`` answers 503 until the new one runs.

The child dies with its master: ``PR_SET_PDEATHSIG`` (Linux) sends it SIGTERM when the
master goes, even by SIGKILL, and it also checks its parent every heartbeat.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

log = logging.getLogger("raccord.supervisor")
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0
STOP_TIMEOUT_S = 30.0
PARENT_ENV = "RACCORD_SUPERVISOR_PID"
#: serve id → restarts of its background process, in the master process.
RESTARTS: dict[str, int] = {}


class Supervisor:
    def __init__(self, config: str, roles: Sequence[str], ident: str, database_url: str | None = None) -> None:
        self.config = config
        self.roles = sorted(roles)
        self.ident = ident
        self.database_url = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.backoff = FIRST_BACKOFF_S
        self.restart_at: float | None = None
        self.restarts = 0
        self.stopping = False
        self.reloading = False
        # gunicorn forks its workers from the master's stack: in them this object is a
        # copy, and only the master may touch the background process.
        self.owner = os.getpid()

    def start(self) -> None:
        code = "from framework.cli.serve import background_main; background_main()"
        env = {**os.environ, PARENT_ENV: str(os.getpid()), "RACCORD_SERVE_ID": self.ident}
        if self.database_url:  # the database the master migrated, whatever the child would pick
            env["RACCORD_DATABASE_URL"] = self.database_url
        self.proc = subprocess.Popen([sys.executable, "-c", code, self.config, ",".join(self.roles)], env=env)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("background process %d started: %s", self.proc.pid, ", ".join(self.roles))

    def poll(self) -> None:
        """Notice a dead background process; restart it when its back-off is over."""
        if self.stopping or os.getpid() != self.owner:
            return
        if self.proc is not None and (status := self.proc.poll()) is not None:
            self._died(status)
        if self.proc is None and self.restart_at is not None and time.monotonic() >= self.restart_at:
            self.start()

    def _died(self, status: int) -> None:
        assert self.proc is not None
        pid, self.proc = self.proc.pid, None
        self._mark_stopped()
        if self.reloading:
            self.reloading = False
            log.info("background process %d stopped for the reload; starting the new configuration", pid)
            self.restart_at = time.monotonic()
            return
        if time.monotonic() - self.started_at > HEALTHY_AFTER_S:
            self.backoff = FIRST_BACKOFF_S
        self.restarts += 1
        RESTARTS[self.ident] = self.restarts
        how = f"signal {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
        log.error("background process %d (%s) died (%s); restart %d in %.0f s", pid, ", ".join(self.roles),
                  how, self.restarts, self.backoff)
        self._record(how)
        self.restart_at = time.monotonic() + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)

    def reload(self) -> None:
        """Restart the background process on the new configuration (gracefully)."""
        if self.proc is not None:
            self.reloading = True
            self.proc.terminate()
        else:
            self.restart_at = time.monotonic()

    def stop(self) -> None:
        """SIGTERM: the roles finish the job in hand, then stop; SIGKILL after a while."""
        if os.getpid() != self.owner:
            return
        self.stopping = True
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._mark_stopped()

    def _mark_stopped(self) -> None:
        from framework.runtime import heartbeat

        self._with_db(lambda db: heartbeat.stopped(db, self.ident, self.roles))

    def _record(self, how: str) -> None:
        from framework.runtime import heartbeat

        self._with_db(lambda db: heartbeat.record_restart(db, self.ident, self.restarts, how))

    def _with_db(self, action: object) -> None:
        # A short-lived engine: the master forks gateway workers, which must not inherit
        # a pooled connection of the master's.
        from framework.storage import open_database

        url = self.database_url or os.environ.get("RACCORD_DATABASE_URL")
        if not url:
            return
        try:
            db = open_database(url, migrate=False)
            try:
                action(db)  # type: ignore[operator]
            finally:
                db.dispose()
        except Exception as exc:  # the database may be the reason it died: say so, go on
            log.warning("could not record the background process's state: %s", type(exc).__name__)


def die_with_parent() -> None:
    """In the background process: get SIGTERM when the master dies (Linux), and exit now
    if it is already gone."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the heartbeat loop's parent check still stops it
    if not parent_alive():
        sys.exit(0)


def parent_alive() -> bool:
    expected = os.environ.get(PARENT_ENV)
    return expected is None or str(os.getppid()) == expected
