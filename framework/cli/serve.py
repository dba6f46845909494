"""``raccord serve``: the HTTP gateway under gunicorn, plus the background roles.

Start-up order: the configuration is validated (every error printed once, in line
order, exit 1, before anything is announced or started); the database is migrated
once, by this master process; the background process (job workers, scheduler) starts
under the master's supervision (:mod:`framework.runtime.supervisor`); the gateway's
port listens and its URL is announced. ``kill -HUP`` reloads every role if the edited
file is valid and keeps the last good configuration otherwise (docs/deployment.md).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
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
    """Serve every instance's endpoints over HTTP (stop with Ctrl-C or SIGTERM; reload with SIGHUP)."""
    from framework.gateway.server import precheck
    from framework.logs import configure as configure_logging
    from framework.runtime import heartbeat
    from framework.runtime.supervisor import Supervisor

    configure_logging()
    config = ctx.obj["config"]
    roles = {"gateway", "worker", "scheduler"} if role == "all" else {role}
    loaded = precheck(config)  # raises ConfigError (printed once by main, exit 1) before anything starts
    metrics_dir = _metrics_dir()  # before the background process and the workers start: they inherit it
    background = sorted(roles - {"gateway"})
    ident = heartbeat.serve_id()
    # Inherited by the gateway workers: /readyz checks this serve's background roles.
    os.environ[heartbeat.SERVE_ID_ENV] = ident
    os.environ[heartbeat.EXPECTED_ENV] = ",".join(background)
    supervisor = Supervisor(config, background, ident, loaded.url) if background else None
    supervisor_owner = os.getpid()
    if supervisor is not None:
        supervisor.start()
    try:
        if "gateway" in roles:
            from framework.gateway.server import serve as run_gateway

            run_gateway(config, host=host, port=port, workers=workers, threads=threads, loaded=loaded,
                        supervisor=supervisor, on_ready=lambda arbiter: _announce(arbiter, workers, threads))
        elif supervisor is not None:
            _supervise(config, supervisor)
    finally:
        if supervisor is not None:
            supervisor.stop()  # only in the master (a forked gateway worker unwinds through here too)
        if metrics_dir is not None and os.getpid() == supervisor_owner:
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


def _announce(arbiter: Any, workers: int, threads: int) -> None:
    """Called by gunicorn once its sockets listen: the URL is reachable from now on."""
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"raccord gateway on http://{shown}:{port}/ ({workers} workers × {threads} threads)", err=True)


def _supervise(config: str, supervisor: Any) -> None:
    """Without gunicorn: watch the background process until SIGTERM/SIGINT; SIGHUP reloads."""
    from framework.errors import ConfigError
    from framework.gateway.server import load_checked

    stop = threading.Event()
    hup = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: hup.set())
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the wait below
    while not stop.wait(0.5):
        if hup.is_set():
            hup.clear()
            try:
                load_checked(config)
            except ConfigError as exc:
                for line in exc.message.splitlines():
                    log.error("reload refused, still running the last good configuration: %s", line)
            else:
                log.info("reloading the background roles: %s is valid", config)
                supervisor.reload()
        supervisor.poll()


def background_main() -> None:
    """Entry of the background process: ``argv`` = config path, comma-separated roles."""
    from framework.logs import configure as configure_logging
    from framework.runtime import heartbeat, service
    from framework.runtime.supervisor import die_with_parent, parent_alive

    configure_logging()
    die_with_parent()
    config, roles = sys.argv[1], set(sys.argv[2].split(","))
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reloads go through the master
    ident = os.environ.get(heartbeat.SERVE_ID_ENV) or heartbeat.serve_id()
    sys.exit(service.run_background(config, roles, stop, ident, parent_alive=parent_alive))
