"""``raccord serve``: the HTTP gateway under gunicorn, plus the background roles."""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import signal
from typing import Any

import click

log = logging.getLogger("raccord.serve")
ROLES = ("all", "gateway", "worker", "scheduler")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", "-w", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gateway worker processes (each serves --threads calls at once)")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256))
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True,
              help="what this process runs: the gateway, the job workers, the scheduler, or all")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int, role: str) -> None:
    """Serve every instance's endpoints over HTTP (stop with Ctrl-C or SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ctx.obj["config"]
    roles = {"gateway", "worker", "scheduler"} if role == "all" else {role}
    stop = multiprocessing.get_context("spawn").Event()
    background = _start_background(config, roles - {"gateway"}, stop)
    try:
        if "gateway" in roles:
            from framework.gateway.server import serve as run_gateway

            click.echo(f"raccord gateway on http://{host}:{port}/ ({workers} workers × {threads} threads)",
                       err=True)
            run_gateway(config, host=host, port=port, workers=workers, threads=threads)
        elif background is not None:
            background.join()
    finally:
        stop.set()
        if background is not None:
            background.join(timeout=15)


def _start_background(config: str, roles: set[str], stop: Any) -> Any:
    """Job workers and the scheduler belong to the runtime; start them if it is there.

    They run in a separate *spawned* process: the gunicorn master forks its workers,
    and a fork must not copy live scheduler threads or database connections."""
    if not roles:
        return None
    if importlib.util.find_spec("framework.runtime.service") is None:
        log.warning("roles %s are not available yet (framework.runtime.service is missing): "
                    "serving the gateway only", ", ".join(sorted(roles)))
        return None
    process = multiprocessing.get_context("spawn").Process(
        target=_background_main, args=(config, sorted(roles), stop), name="raccord-background")
    process.start()
    return process


def _background_main(config: str, roles: list[str], stop: Any) -> None:
    from framework.runtime import service  # type: ignore[attr-defined,unused-ignore]

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    service.start_background(config, set(roles), stop)
