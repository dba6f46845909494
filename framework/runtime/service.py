"""The background roles ``raccord serve`` runs beside (or instead of) the gateway.

``start_background(config, {"worker", "scheduler"}, stop)`` opens the territory once
and starts ``[runtime] workers`` worker threads and one scheduler thread (which only
fires while it holds the leadership lock, so every machine may run one). Jobs are
I/O-bound (HTTP and SOAP calls), so threads suffice; for more CPU run more
``raccord serve --role worker`` processes.

:func:`run_background` is the background process of ``raccord serve``: the same
threads, plus a heartbeat per role in the database every
:data:`~framework.runtime.heartbeat.INTERVAL` seconds (``/readyz`` reads them), and
an exit with status 1 as soon as a role's threads are gone, so that the supervisor
restarts the whole process rather than leaving it half-alive.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from framework.runtime.scheduler import Scheduler
from framework.runtime.worker import StopSignal, Worker, WorkerOptions

log = logging.getLogger("raccord.service")
ROLES = frozenset({"worker", "scheduler"})
DEFAULT_WORKERS = 2


@dataclass
class Background:
    """The running roles of one process, over one opened territory."""

    raccord: Any
    threads: dict[str, list[threading.Thread]] = field(default_factory=dict)

    def all_threads(self) -> list[threading.Thread]:
        return [t for ts in self.threads.values() for t in ts]

    def dead_roles(self) -> list[str]:
        """Roles none of whose threads still runs (a crash: see ``_guarded``)."""
        return sorted(role for role, ts in self.threads.items() if not any(t.is_alive() for t in ts))


def open_background(config_path: str, roles: set[str], stop_event: StopSignal, *,
                    database_url: str | None = None, pm: Any = None) -> Background | None:
    """Start the threads of ``roles`` (others, like "gateway", are ignored); they end when
    ``stop_event`` (a threading or multiprocessing Event) is set."""
    wanted = set(roles) & ROLES
    if not wanted:
        return None
    from framework.app import Raccord

    raccord = Raccord.open(config_path, database_url=database_url, pm=pm)
    background = Background(raccord)
    if "worker" in wanted:
        opts = WorkerOptions.from_runtime(dict(raccord.territory.runtime))
        count = int(raccord.territory.runtime.get("workers", DEFAULT_WORKERS))
        background.threads["worker"] = [
            threading.Thread(target=_guarded, args=(Worker(raccord, opts).run, stop_event),
                             name=f"raccord-worker-{index}") for index in range(max(1, count))]
    if "scheduler" in wanted:
        background.threads["scheduler"] = [
            threading.Thread(target=_guarded, args=(Scheduler(raccord).run, stop_event), name="raccord-scheduler")]
    for thread in background.all_threads():
        thread.start()
    return background


def start_background(config_path: str, roles: set[str], stop_event: StopSignal, *,
                     database_url: str | None = None, pm: Any = None) -> list[threading.Thread]:
    """:func:`open_background`, returning its threads and one that closes the territory
    once they are done.

    The threads are not daemons: a process that returns right after this call keeps
    running its roles until the event is set, and a stop lets the job in hand finish."""
    background = open_background(config_path, roles, stop_event, database_url=database_url, pm=pm)
    if background is None:
        return []
    threads = background.all_threads()
    closer = threading.Thread(target=_close_after, args=(background.raccord, threads), name="raccord-closer")
    closer.start()
    return [*threads, closer]


def run_background(config_path: str, roles: set[str], stop: threading.Event, ident: str,
                   parent_alive: Any = None) -> int:
    """Run ``roles`` with heartbeats until ``stop`` is set; return the exit status
    (1 when a role died or the parent is gone: the supervisor restarts the process)."""
    from framework.runtime import heartbeat

    background = open_background(config_path, roles, stop)
    if background is None:
        return 0
    status = 0
    try:
        while not stop.is_set():
            dead = background.dead_roles()
            if dead:
                log.error("background role(s) %s stopped; exiting so that serve restarts them", ", ".join(dead))
                status = 1
                break
            if parent_alive is not None and not parent_alive():
                log.warning("serve master is gone; stopping the background roles")
                break
            try:
                heartbeat.beat(background.raccord.db, ident, background.threads)
            except Exception as exc:  # the database is down: /readyz says so; beat again later
                log.warning("heartbeat not recorded: %s", type(exc).__name__)
            stop.wait(heartbeat.INTERVAL)
    finally:
        stop.set()
        for thread in background.all_threads():
            thread.join()
        with contextlib.suppress(Exception):  # best effort: the supervisor marks them too
            heartbeat.stopped(background.raccord.db, ident, background.threads)
        background.raccord.close()
    return status


def _guarded(run: Any, stop: StopSignal) -> None:
    # A role that crashes must not die silently: log it; the background process sees the
    # role gone and exits, and its supervisor restarts it.
    try:
        run(stop)
    except Exception:
        log.exception("background role stopped on an unexpected error")


def _close_after(raccord: Any, threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join()
    raccord.close()
