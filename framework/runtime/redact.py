"""Error texts stored with a job: useful to an administrator, never holding a secret.

A job's error is shown by ``raccord jobs show`` and to the caller following the job,
so the binding's secret setting values are masked wherever they appear, and URLs lose
their credentials and secret query parameters.
"""

from __future__ import annotations

from typing import Any

from framework.errors import RaccordError
from framework.journal import mask_text

MAX_ERROR_CHARS = 2000


def error_text(exc: BaseException, binding: Any = None) -> str:
    """``ErrorType: message (hint)`` with secrets and URL credentials masked."""
    if isinstance(exc, RaccordError):
        text = f"{type(exc).__name__}: {exc.describe()}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return mask_text(text, binding)[:MAX_ERROR_CHARS]

