"""``raccord serve``: the HTTP gateway under gunicorn, plus the background roles."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading

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
    from framework.logs import configure as configure_logging
    configure_logging()
    config = ctx.obj["config"]
    roles = {"gateway", "worker", "scheduler"} if role == "all" else {role}
    # gunicorn forks its workers from this frame; when a worker exits, its stack unwinds
    # through the finally below: only the master may stop the background process.
    master = os.getpid()
    metrics_dir = _metrics_dir()
    background = _start_background(config, roles - {"gateway"})
    try:
        if "gateway" in roles:
            from framework.gateway.server import serve as run_gateway

            click.echo(f"raccord gateway on http://{host}:{port}/ ({workers} workers × {threads} threads)",
                       err=True)
            run_gateway(config, host=host, port=port, workers=workers, threads=threads)
        elif background is not None:
            # Without gunicorn nobody handles SIGTERM: turn it into SystemExit so the
            # finally below stops the background process instead of orphaning it.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            background.wait()
    finally:
        if background is not None and os.getpid() == master:
            background.terminate()  # SIGTERM: the roles finish the job in hand, then stop
            try:
                background.wait(30)
            except subprocess.TimeoutExpired:
                background.kill()
                background.wait()
        if metrics_dir is not None and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir() -> str | None:
    """Create the Prometheus multiprocess directory before anything imports
    prometheus_client: the gateway workers and the background process (which inherits
    the variable) then write to it, and /metrics adds every process up (docs/metrics.md).
    Returns the directory to remove at exit, or None if the caller gave one."""
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    path = tempfile.mkdtemp(prefix="raccord-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _start_background(config: str, roles: set[str]) -> subprocess.Popen[bytes] | None:
    """Job workers and the scheduler belong to the runtime; start them if it is there.

    They run in a separate process started fresh (not forked, not multiprocessing):
    the gunicorn master forks its workers, and a fork must not copy live scheduler
    threads, database connections or a multiprocessing child registry."""
    if not roles:
        return None
    if importlib.util.find_spec("framework.runtime.service") is None:
        log.warning("roles %s are not available yet (framework.runtime.service is missing): "
                    "serving the gateway only", ", ".join(sorted(roles)))
        return None
    code = "from framework.cli.serve import background_main; background_main()"
    return subprocess.Popen([sys.executable, "-c", code, config, ",".join(sorted(roles))])


def background_main() -> None:
    """Entry of the background process: ``argv`` = config path, comma-separated roles."""
    from framework.runtime import service

    config, roles = sys.argv[1], set(sys.argv[2].split(","))
    from framework.logs import configure as configure_logging
    configure_logging()
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = service.start_background(config, roles, stop)
    for thread in threads or ():  # they end once ``stop`` is set
        thread.join()
