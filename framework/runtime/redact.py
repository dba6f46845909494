"""Error texts stored with a job: useful to an administrator, never holding a secret.

A job's error is shown by ``raccord jobs show`` and to the caller following the job,
so the binding's secret setting values are masked wherever they appear, and URLs lose
their credentials and secret query parameters.
"""

from __future__ import annotations

import re
from typing import Any

from framework.config.model import SecretRef
from framework.errors import RaccordError
from framework.journal import redact_url

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
MAX_ERROR_CHARS = 2000


def error_text(exc: BaseException, binding: Any = None) -> str:
    """``ErrorType: message (hint)`` with secrets and URL credentials masked."""
    if isinstance(exc, RaccordError):
        text = f"{type(exc).__name__}: {exc.describe()}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    for secret in _secret_values(binding):
        text = text.replace(secret, "***")
    return text[:MAX_ERROR_CHARS]


def _secret_values(binding: Any) -> list[str]:
    if binding is None:
        return []
    values = []
    for setting in binding.settings.values():
        if isinstance(setting.value, SecretRef):
            try:
                value = setting.value.resolve()
            except RaccordError:
                continue
            if len(value) >= 4:  # masking "a" everywhere would destroy the message
                values.append(value)
    return values
