"""Checking one configured value against what a setting declares."""

from __future__ import annotations

import math
from typing import Any

from framework.config.model import SecretRef
from framework.config.report import Report
from framework.declarations import TYPE_NAMES, Setting

_Path = tuple[str, ...]


class _Invalid:
    """Kept in place of a value that failed validation (already reported): the setting
    is neither "missing" nor usable, so one mistake yields one error."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


def secret_ref(value: Any, report: Report, path: _Path, base_dir: str) -> SecretRef | None:
    """Read a ``{ env = … }`` / ``{ file = … }`` reference; a literal is an error."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, ref),) = value.items()
        if kind in ("env", "file") and isinstance(ref, str) and ref:
            return SecretRef(kind, ref, base_dir if kind == "file" else "")
    if isinstance(value, str | int | float):
        report.error(
            path,
            "a secret is written here as a literal value",
            hint='write a reference instead: { env = "VARIABLE" } or { file = "path" }, '
            "and keep the value out of the repository",
        )
    else:
        report.error(path, "a secret must be { env = \"NAME\" } or { file = \"path\" }")
    return None


def type_ok(expected: type, value: Any) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def describe_type(value: Any) -> str:
    return TYPE_NAMES.get(type(value), type(value).__name__)


def setting_value(
    setting: Setting, value: Any, report: Report, path: _Path, base_dir: str
) -> tuple[bool, Any]:
    """Validate ``value`` for ``setting``: (valid, value to keep)."""
    if setting.secret:
        ref = secret_ref(value, report, path, base_dir)
        return ref is not None, ref
    if not type_ok(setting.type, value):
        report.error(
            path,
            f"expected a {setting.type_name}, got a {describe_type(value)} ({value!r})",
            hint=setting.description or None,
        )
        return False, None
    if not finite(value):
        report.error(path, f"expected a {setting.type_name}, got {value!r} (not a finite number)")
        return False, None
    if setting.choices is not None and value not in setting.choices:
        choices = ", ".join(repr(c) for c in setting.choices)
        report.error(path, f"{value!r} is not one of {choices}")
        return False, None
    if setting.type is float:
        value = float(value)
    return True, value


def finite(value: Any) -> bool:
    """TOML has ``inf`` and ``nan``: no count, cost, weight or timeout can be one."""
    return not isinstance(value, float) or math.isfinite(value)


def expect(report: Report, path: _Path, value: Any, kind: type, what: str) -> bool:
    """Report a wrong type for a framework key (not a connector setting)."""
    if type_ok(kind, value):
        if finite(value):
            return True
        report.error(path, f"expected {what}, got {value!r} (not a finite number)")
        return False
    report.error(path, f"expected {what}, got a {describe_type(value)} ({value!r})")
    return False


def check_keys(report: Report, path: _Path, table: dict[str, Any], known: set[str]) -> None:
    """Unknown keys are errors, with a did-you-mean."""
    from framework.config.report import did_you_mean

    for key in table:
        if key not in known:
            report.error(
                (*path, key),
                f"unknown key {key!r}",
                hint=did_you_mean(key, known) or f"known keys: {', '.join(sorted(known))}",
            )
