"""The background roles ``raccord serve`` runs beside (or instead of) the gateway.

``start_background(config, {"worker", "scheduler"}, stop)`` opens the territory once
and starts ``[runtime] workers`` worker threads and one scheduler thread (which only
fires while it holds the leadership lock, so every machine may run one). Jobs are
I/O-bound (HTTP and SOAP calls), so threads suffice; for more CPU run more
``raccord serve --role worker`` processes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from framework.runtime.scheduler import Scheduler
from framework.runtime.worker import StopSignal, Worker, WorkerOptions

log = logging.getLogger("raccord.service")
ROLES = frozenset({"worker", "scheduler"})
DEFAULT_WORKERS = 2


def start_background(config_path: str, roles: set[str], stop_event: StopSignal, *,
                     database_url: str | None = None, pm: Any = None) -> list[threading.Thread]:
    """Start the threads of ``roles`` (others, like "gateway", are ignored); they end when
    ``stop_event`` (a threading or multiprocessing Event) is set.

    The threads are not daemons: a process that returns right after this call keeps
    running its roles until the event is set, and a stop lets the job in hand finish."""
    wanted = set(roles) & ROLES
    if not wanted:
        return []
    from framework.app import Raccord

    raccord = Raccord.open(config_path, database_url=database_url, pm=pm)
    threads: list[threading.Thread] = []
    if "worker" in wanted:
        opts = WorkerOptions.from_runtime(dict(raccord.territory.runtime))
        count = int(raccord.territory.runtime.get("workers", DEFAULT_WORKERS))
        for index in range(max(1, count)):
            worker = Worker(raccord, opts)
            threads.append(threading.Thread(target=_guarded, args=(worker.run, stop_event),
                                            name=f"raccord-worker-{index}"))
    if "scheduler" in wanted:
        scheduler = Scheduler(raccord)
        threads.append(threading.Thread(target=_guarded, args=(scheduler.run, stop_event),
                                        name="raccord-scheduler"))
    for thread in threads:
        thread.start()
    closer = threading.Thread(target=_close_after, args=(raccord, list(threads)), name="raccord-closer")
    closer.start()
    return [*threads, closer]


def _guarded(run: Any, stop: StopSignal) -> None:
    # A role that crashes must not take the process down silently: log, and let the
    # others (and the gateway) go on; the supervisor sees it in the logs.
    try:
        run(stop)
    except Exception:
        log.exception("background role stopped on an unexpected error")


def _close_after(raccord: Any, threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join()
    raccord.close()
