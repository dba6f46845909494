"""``raccord worker``: run job workers in the foreground (SIGTERM stops them cleanly)."""

from __future__ import annotations

import click


@click.command()
@click.option("--threads", type=int, help="worker loops in this process (default: [runtime] workers, or 2)")
@click.pass_context
def worker(ctx: click.Context, threads: int | None) -> None:
    """Claim and run queued jobs until interrupted."""
    import threading

    from framework.cli import open_runtime
    from framework.logs import configure as configure_logging
    from framework.runtime.service import DEFAULT_WORKERS
    from framework.runtime.worker import run_worker
    configure_logging()
    runtime = open_runtime(ctx)
    stop = threading.Event()
    count = threads or int(runtime.territory.runtime.get("workers", DEFAULT_WORKERS))
    try:
        ran = run_worker(runtime, stop, threads=count)
    except KeyboardInterrupt:
        stop.set()
        ran = 0
    finally:
        runtime.close()
    click.echo(f"worker stopped after {ran} job(s)")
