"""Running the gateway under gunicorn, from code.

The master process validates the configuration and migrates the database once, then
forks the workers. The validated territory is kept in the master and inherited by
every worker it forks (plain data: no engine, socket or thread crosses a fork; each
worker opens its own database engine). It is frozen out of the garbage collector
before the fork (:func:`framework.loading.freeze_loaded`), so its pages stay shared
copy-on-write between the master and the workers, and a worker never re-reads ``instances.toml``:
a broken edit on disk cannot stop a recycled worker from booting, and ``kill -HUP``
reloads only a file that passes the checks (:class:`Arbiter`). The worker class is
``gthread``: it keeps connections alive (sync workers answer ``Connection: close``,
a new TCP connection per call) and serves a few calls at once per process while
connectors wait on their business servers.

The embedded server is hardened (:mod:`framework.gateway.hardening`): bounded
request line and headers, per-read timeouts, JSON answers for what gunicorn refuses
itself, logs without query strings or credentials. In production it runs behind
nginx (docs/deployment.md), which absorbs slow and malformed clients.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter as _GunicornArbiter

from framework.errors import ConfigError
from framework.gateway import hardening

log = logging.getLogger("raccord.gateway")
# Same name as framework.gateway.metrics.MULTIPROC_ENV; importing that module here would
# import prometheus_client in the master before the variable is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _plugins(names: Sequence[str]) -> list[object]:
    return [importlib.import_module(n) for n in names]


@dataclass(frozen=True)
class Loaded:
    """A configuration that passed every check, ready to serve."""

    config: str
    territory: Any
    registry: Any
    pm: Any
    url: str


def load_checked(config: str, plugins: Sequence[str] = (), database_url: str | None = None) -> Loaded:
    """Load and validate ``config``; raise ConfigError with every error, in line order."""
    from framework.app import _storage_url
    from framework.loading import check_config
    from framework.plugins import make_plugin_manager

    pm = make_plugin_manager(plugins=_plugins(plugins)) if plugins else make_plugin_manager()
    territory, report, registry = check_config(config, pm)
    if territory is None or not report.ok:
        errors = sorted(report.errors, key=lambda f: (f.line or 0, f.dotted))
        lines = "\n".join(str(f) for f in errors)
        raise ConfigError(f"{config} is not valid:\n{lines}", hint="run `raccord check`")
    return Loaded(config, territory, registry, pm, database_url or _storage_url(territory))


def build_app(config: str, plugins: Sequence[str] = (), database_url: str | None = None) -> Any:
    """A gateway for ``config`` with extra plugin modules (by dotted name)."""
    from framework.gateway.app import make_app
    from framework.plugins import make_plugin_manager

    pm = make_plugin_manager(plugins=_plugins(plugins)) if plugins else None
    return make_app(config, pm=pm, database_url=database_url)


def app_from(loaded: Loaded) -> Any:
    """The gateway over an already validated territory (in a worker, after the fork)."""
    from framework.app import Raccord
    from framework.gateway.app import Gateway

    return Gateway(Raccord(loaded.territory, loaded.registry, gateway_database(loaded.url), loaded.pm))


def gateway_database(url: str) -> Any:
    """The database as a gateway worker opens it: statements bounded to a few seconds,
    so a hung or locked database is a fast 503 (framework.storage.db)."""
    from framework.storage import open_database
    from framework.storage.db import GATEWAY_STATEMENT_TIMEOUT_MS

    return open_database(url, statement_timeout_ms=GATEWAY_STATEMENT_TIMEOUT_MS)


class Arbiter(_GunicornArbiter):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's master, with a safe reload and raccord's background process.

    SIGHUP re-validates the file first: a broken edit is logged error by error and
    the workers keep serving the last good configuration (gunicorn alone would fork
    workers that fail to boot, then halt: ``Worker failed to boot``). A good edit
    reloads the gateway workers and the background roles. The master's loop also
    watches the background process (:class:`~framework.runtime.supervisor.Supervisor`).
    """

    app: GatewayServer

    def handle_hup(self) -> None:
        try:
            loaded = self.app.reload_checked()
        except ConfigError as exc:
            for line in exc.message.splitlines():
                self.log.error("reload refused, still serving the last good configuration: %s", line)
            return
        except Exception as exc:  # an unexpected failure must not stop the server either
            self.log.error("reload refused (%s: %s), still serving the last good configuration",
                           type(exc).__name__, exc)
            return
        self.log.info("reloading: %s is valid (%d instances)", loaded.config, len(loaded.territory.instances))
        super().handle_hup()
        if self.app.supervisor is not None:
            self.app.supervisor.reload()

    def reap_workers(self) -> None:
        # Our background process is a child too: claim it with a targeted wait before
        # gunicorn's waitpid(-1) reaps it as an unknown child (losing its exit status).
        if self.app.supervisor is not None:
            self.app.supervisor.poll()
        super().reap_workers()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.app.supervisor is not None:
            self.app.supervisor.poll()

    def halt(self, reason: str | None = None, exit_status: int = 0) -> None:
        if self.app.supervisor is not None:
            self.app.supervisor.stop()
        super().halt(reason, exit_status)


class GatewayServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, config: str, options: dict[str, Any], plugins: Sequence[str] = (),
                 database_url: str | None = None, loaded: Loaded | None = None,
                 supervisor: Any = None) -> None:
        self.config_path = config
        self.options = options
        self.plugins = tuple(plugins)
        self.database_url = database_url
        self.loaded = loaded or load_checked(config, plugins, database_url)
        self.supervisor = supervisor
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def reload_checked(self) -> Loaded:
        """Validate the file again; keep it for the next workers only if it is valid."""
        from framework.loading import freeze_loaded

        loaded = load_checked(self.config_path, self.plugins, self.database_url)
        _migrate(loaded.url)
        self.loaded = loaded
        freeze_loaded()  # the previous territory is collected; the new one is frozen for the next workers
        return loaded

    def load(self) -> Any:
        # Called in each worker after the fork (preload_app is off).
        return app_from(self.loaded)

    def run(self) -> None:
        try:
            Arbiter(self).run()
        except RuntimeError as e:
            log.error("gateway stopped: %s", e)
            raise SystemExit(1) from None


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def options_for(host: str, port: int, workers: int, threads: int,
                on_ready: Callable[[Any], None] | None) -> dict[str, Any]:
    """gunicorn's settings: keep-alive threads, and the limits of the hardened server."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": hardening.JsonErrorWorker,
        "logger_class": hardening.RedactingLogger,
        "threads": threads,
        "keepalive": hardening.KEEPALIVE_S,
        # A worker whose main loop stops notifying (or whose every thread is stuck in a
        # call, see JsonErrorWorker.notify) is killed and replaced after this long.
        "timeout": hardening.WORKER_TIMEOUT_S,
        "graceful_timeout": 10,
        "limit_request_line": hardening.LIMIT_REQUEST_LINE,
        "limit_request_fields": hardening.LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": hardening.LIMIT_REQUEST_FIELD_SIZE,
        "accesslog": None,  # the journal is the access log, with secrets redacted
        "errorlog": "-",
        "loglevel": "info",
        "child_exit": _child_exit,
        "when_ready": on_ready,
        "proc_name": "raccord-gateway",
        # gunicorn's control socket has one default path per user: two servers (or a
        # test run beside a dev server) would fight over it; raccord does not use it.
        "control_socket_disable": True,
    }


def serve(config: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4, plugins: Sequence[str] = (), database_url: str | None = None,
          on_ready: Callable[[Any], None] | None = None, loaded: Loaded | None = None,
          supervisor: Any = None) -> None:
    """Check the configuration, then serve until SIGTERM/SIGINT (blocks)."""
    loaded = loaded or precheck(config, plugins, database_url)
    own_dir = not os.environ.get(MULTIPROC_ENV)
    metrics_dir = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="raccord-metrics-")
    # Before any worker imports prometheus_client: values then live in shared files.
    os.environ[MULTIPROC_ENV] = metrics_dir
    # Each binding's bulkhead is a share of these threads (framework/outbound/bulkhead.py).
    os.environ["RACCORD_GATEWAY_THREADS"] = str(threads)
    options = options_for(host, port, workers, threads, on_ready)
    master = os.getpid()
    try:
        GatewayServer(config, options, plugins, database_url, loaded=loaded, supervisor=supervisor).run()
    finally:
        # Workers are forked from this frame and unwind through here when they exit:
        # only the master may remove the directory the live workers write to.
        if own_dir and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _migrate(url: str) -> None:
    from framework.storage import open_database

    open_database(url).dispose()


def precheck(config: str, plugins: Sequence[str] = (), database_url: str | None = None) -> Loaded:
    """Fail before forking if the configuration is invalid; migrate the database once;
    warn once about clients whose secrets are not set (they cannot authenticate)."""
    from framework.gateway.auth import missing_secrets
    from framework.loading import freeze_loaded

    loaded = load_checked(config, plugins, database_url)
    _migrate(loaded.url)
    # Before any fork: the workers inherit the territory's pages and, the objects being
    # frozen, no collection in a worker writes to them (they stay shared, copy-on-write).
    freeze_loaded()
    missing = missing_secrets(loaded.territory)
    if missing:
        log.warning("%d client credential(s) cannot authenticate until their secret is set: %s",
                    len(missing), "; ".join(missing))
    return loaded
