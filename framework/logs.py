"""Logging set-up shared by the long-running commands (serve, worker, scheduler)."""

from __future__ import annotations

import logging

#: Libraries whose INFO lines are noise for an operator (migration plugins, one line
#: per scheduled job); their warnings and errors still show.
QUIET = ("alembic", "apscheduler")


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
