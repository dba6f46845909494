"""``raccord scheduler``: fire periodic jobs (only while holding the leadership lock)."""

from __future__ import annotations

import click


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Enqueue each binding's periodic jobs on schedule until interrupted."""
    import signal
    import threading

    from framework.cli import open_runtime
    from framework.logs import configure as configure_logging
    from framework.runtime.scheduler import Scheduler
    configure_logging()
    runtime = open_runtime(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        Scheduler(runtime).run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        runtime.close()
