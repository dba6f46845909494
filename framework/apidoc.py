"""Reference pages generated from docstrings: the public API (docs/api.md) and the test
kit (docs/testing.md). ``raccord docs`` writes them; a meta-test fails when they are stale."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType
from typing import Any


def public_names(module: ModuleType) -> list[str]:
    """``module.__all__``, sorted case-insensitively."""
    return sorted(getattr(module, "__all__", ()), key=str.lower)


def fixtures(module: ModuleType) -> dict[str, Any]:
    """The pytest fixtures a plugin module defines, by name."""
    return {name: value for name, value in vars(module).items()
            if type(value).__name__ == "FixtureFunctionDefinition"}


def api_page() -> str:
    import framework

    lines = ["# The public API", "",
             "Generated from the docstrings of `framework/__init__.py`'s exports by `raccord docs`; "
             "do not edit by hand. Connectors, hook implementations and overrides import only these "
             "names: `from framework import …`.", ""]
    lines += _symbols(framework, public_names(framework))
    return _join(lines)


def testing_page() -> str:
    import framework.testing as kit
    from framework.testing import plugin

    lines = ["# The test kit: `framework.testing`", "",
             "Generated from the docstrings of `framework/testing/` by `raccord docs`; do not edit by "
             "hand. The tutorial ([writing-connectors.md](writing-connectors.md)) shows them at work.", "",
             inspect.getdoc(kit) or "", "", "## Fixtures", "",
             "Provided by the pytest plugin `framework.testing.plugin`, registered through the "
             "`pytest11` entry point: installing raccord is enough.", ""]
    for name, fixture in sorted(fixtures(plugin).items()):
        lines += [f"### `{name}`", "", inspect.getdoc(fixture) or "(undocumented)", ""]
    lines += ["## Helpers", "", "`from framework.testing import …`", ""]
    lines += _symbols(kit, public_names(kit))
    return _join(lines)


def _symbols(module: ModuleType, names: Iterable[str]) -> list[str]:
    lines: list[str] = []
    for name in names:
        value = getattr(module, name)
        lines += [f"### `{name}{_signature(value)}`", "", _doc(value), ""]
        if inspect.isclass(value):
            lines += _members(value)
    return lines


def _members(cls: type) -> list[str]:
    lines: list[str] = []
    for attr, member in vars(cls).items():
        if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
            continue
        doc = inspect.getdoc(member)
        if doc:
            sig = "" if isinstance(member, property) else _signature(member)
            lines += [f"- `{attr}{sig}`: {doc.splitlines()[0]}"]
    return [*lines, ""] if lines else []


def _signature(value: Any) -> str:
    if not callable(value) or hasattr(value, "__origin__"):
        return ""
    try:
        return str(inspect.signature(value)).replace("'", "")
    except (TypeError, ValueError):
        return ""


def _doc(value: Any) -> str:
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismethod(value):
        return inspect.getdoc(value) or "(undocumented)"
    if hasattr(value, "__origin__"):  # a type alias, e.g. Callable[..., Raccord]
        return f"A type: `{value!r}`.".replace("typing.", "").replace("collections.abc.", "")
    if callable(value):  # an object such as pluggy's hookimpl marker
        return inspect.getdoc(type(value)) or f"An instance of `{type(value).__name__}`."
    return f"A value: `{value!r}`."


def _join(lines: list[str]) -> str:
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"
