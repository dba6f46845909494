"""Running the gateway under gunicorn, from code.

The master process validates the configuration and migrates the database once, then
forks the workers; each worker builds its own :class:`~framework.gateway.app.Gateway`
from the configuration path (no engine, socket or thread crosses a fork). The worker
class is ``gthread``: it keeps connections alive (sync workers answer
``Connection: close``, a new TCP connection per call) and serves a few calls at once
per process while connectors wait on their business servers.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger("raccord.gateway")
# Same name as framework.gateway.metrics.MULTIPROC_ENV; importing that module here would
# import prometheus_client in the master before the variable is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _plugins(names: Sequence[str]) -> list[object]:
    return [importlib.import_module(n) for n in names]


def build_app(config: str, plugins: Sequence[str] = (), database_url: str | None = None) -> Any:
    """A gateway for ``config`` with extra plugin modules (by dotted name)."""
    from framework.gateway.app import make_app
    from framework.plugins import make_plugin_manager

    pm = make_plugin_manager(plugins=_plugins(plugins)) if plugins else None
    return make_app(config, pm=pm, database_url=database_url)


class GatewayServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, config: str, options: dict[str, Any], plugins: Sequence[str] = (),
                 database_url: str | None = None) -> None:
        self.config_path = config
        self.options = options
        self.plugins = tuple(plugins)
        self.database_url = database_url
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Called in each worker after the fork (preload_app is off).
        return build_app(self.config_path, self.plugins, self.database_url)


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(config: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4, plugins: Sequence[str] = (), database_url: str | None = None,
          on_ready: Callable[[Any], None] | None = None) -> None:
    """Check the configuration, then serve until SIGTERM/SIGINT (blocks)."""
    precheck(config, plugins, database_url)
    own_dir = not os.environ.get(MULTIPROC_ENV)
    metrics_dir = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="raccord-metrics-")
    # Before any worker imports prometheus_client: values then live in shared files.
    os.environ[MULTIPROC_ENV] = metrics_dir
    # Each binding's bulkhead is a share of these threads (framework/outbound/bulkhead.py).
    os.environ["RACCORD_GATEWAY_THREADS"] = str(threads)
    options: dict[str, Any] = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 10,
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
    try:
        GatewayServer(config, options, plugins, database_url).run()
    finally:
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def precheck(config: str, plugins: Sequence[str] = (), database_url: str | None = None) -> None:
    """Fail before forking if the configuration is invalid; migrate the database once;
    warn once about clients whose secrets are not set (they cannot authenticate)."""
    from framework.app import Raccord
    from framework.gateway.auth import missing_secrets
    from framework.plugins import make_plugin_manager

    pm = make_plugin_manager(plugins=_plugins(plugins)) if plugins else None
    raccord = Raccord.open(config, database_url=database_url, pm=pm)
    try:
        missing = missing_secrets(raccord.territory)
        if missing:
            log.warning("%d client credential(s) cannot authenticate until their secret is set: %s",
                        len(missing), "; ".join(missing))
    finally:
        raccord.close()
