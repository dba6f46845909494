"""Checking one configured value against what a setting declares."""

from __future__ import annotations

import math
import os
import re
import stat
from typing import Any
from urllib.parse import urlsplit

from framework.config.files import kind
from framework.config.model import SecretRef
from framework.config.paths import resolve_path
from framework.config.report import Report
from framework.config.sections import Section
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


def article(name: str) -> str:
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


def describe_type(value: Any) -> str:
    return TYPE_NAMES.get(type(value), type(value).__name__)


def setting_value(
    setting: Setting[Any], value: Any, report: Report, path: _Path, base_dir: str
) -> tuple[bool, Any]:
    """Validate ``value`` against everything ``setting`` declares: (valid, value to keep).

    The one gate for configured values: connector settings and framework sections
    alike, so what ``raccord check`` accepts is exactly what runs.
    """
    if setting.secret:
        ref = secret_ref(value, report, path, base_dir)
        return ref is not None, ref
    if not type_ok(setting.type, value):
        report.error(
            path,
            f"expected {article(setting.type_name)}, got {article(describe_type(value))} ({value!r})",
            hint=setting.description or None,
        )
        return False, None
    if not finite(value):
        report.error(path, f"expected {article(setting.type_name)}, got {value!r} (not a finite number)")
        return False, None
    problem = constraint_problem(setting, value, base_dir)
    if problem is not None:
        report.error(path, problem, hint=setting.description or None)
        return False, None
    if setting.type is float:
        value = float(value)
    return True, value


def constraint_problem(setting: Setting[Any], value: Any, base_dir: str) -> str | None:
    """What is wrong with a well-typed ``value`` for ``setting``, or None."""
    if setting.choices is not None and value not in setting.choices:
        return f"{value!r} is not one of {', '.join(repr(c) for c in setting.choices)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if setting.min is not None and value < setting.min:
            return f"{value!r} is below the minimum {setting.min:g} (allowed: {setting.constraints()})"
        if setting.max is not None and value > setting.max:
            return f"{value!r} is above the maximum {setting.max:g} (allowed: {setting.constraints()})"
    if setting.pattern is not None:
        bad = [item for item in (value if isinstance(value, list) else [value])
               if not (isinstance(item, str) and re.fullmatch(setting.pattern, item))]
        if bad:
            return f"{', '.join(repr(b) for b in bad)} {'does' if len(bad) == 1 else 'do'} not match {setting.pattern}"
    if setting.url and value != "":
        problem = url_problem(str(value), setting.allow_http)
        if problem is not None:
            return problem
    if setting.path == "file" and value != "":
        return file_problem(str(value), base_dir)
    return None


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def url_problem(value: str, allow_http: bool) -> str | None:
    """An https URL with a host (http only when allowed or to the loopback)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return f"{value!r} is not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return f"{value!r} is not an http(s) URL with a host"
    if parts.scheme == "http" and not allow_http and host not in _LOOPBACK:
        return f"{value!r} is not https (this setting refuses plain http)"
    return None


def file_problem(value: str, base_dir: str) -> str | None:
    """Why the file named ``value`` cannot be used (the message names it as written)."""
    try:
        mode = os.stat(resolve_path(base_dir, value)).st_mode
    except OSError:
        return f"file {value!r} does not exist (relative paths start at instances.toml's directory)"
    if not stat.S_ISREG(mode):  # a FIFO would block its reader, /dev/zero never end
        return f"{value!r} is {kind(mode)}, not a regular file"
    return None


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


def read_section(section: Section, table: dict[str, Any], report: Report, path: _Path,
                 base_dir: str) -> dict[str, Any]:
    """Every key of a declared section, checked (unknown keys, types, bounds) and with
    its default where absent or invalid; sub-tables are read the same way."""
    check_keys(report, path, table, section.keys)
    values = section.defaults()
    for name, setting in section.fields.items():
        if name in table:
            ok, value = setting_value(setting, table[name], report, (*path, name), base_dir)
            if ok:
                values[name] = value
    for name, sub in section.tables.items():
        raw = table.get(name, {})
        if not isinstance(raw, dict):
            report.error((*path, name), f"expected a table: {sub.title}")
            raw = {}
        values[name] = read_section(sub, raw, report, (*path, name), base_dir)
    return values
