"""``raccord scheduler``: fire periodic jobs (only while holding the leadership lock)."""

from __future__ import annotations

import click


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Enqueue each binding's periodic jobs on schedule until interrupted."""
    import logging
    import signal
    import threading

    from framework.cli import open_runtime
    from framework.runtime.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runtime = open_runtime(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        Scheduler(runtime).run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        runtime.close()
