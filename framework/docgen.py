"""Documentation generated from the code: the hook reference and one page per connector.

``raccord docs`` writes them; a meta-test fails when the committed pages differ from
what the code says, so docs cannot drift.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from framework import hookspecs
from framework.declarations import REQUIRED, ConnectorInfo, EndpointSpec
from framework.registry import ConnectorRegistry


def hook_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items()
                  if n.startswith("raccord_") and callable(f))


def hooks_page() -> str:
    lines = ["# Plugin hooks", "",
             "Generated from `framework/hookspecs.py` by `raccord docs`; do not edit by hand.", ""]
    for name in hook_names():
        func = getattr(hookspecs, name)
        sig = str(inspect.signature(func)).replace("'", "")
        lines += [f"## `{name}{sig}`", "", inspect.getdoc(func) or "(undocumented)", ""]
    return "\n".join(lines).rstrip() + "\n"


def connector_page(info: ConnectorInfo) -> str:
    lines = [f"# `{info.id}` — {info.title}", "",
             "Generated from the code by `raccord docs`; do not edit by hand.", "",
             info.description, "", "## Settings", "",
             "| name | type | variability | default | description |", "|---|---|---|---|---|"]
    for name, s in sorted(info.settings.items()):
        default = "*required*" if s.default is REQUIRED else f"`{s.default!r}`"
        secret = " (secret: `{ env = … }` or `{ file = … }`)" if s.secret else ""
        lines.append(f"| `{name}` | {s.type_name} | {s.variability} | {default} | {s.description}{secret} |")
    lines += ["", "## Endpoints", ""]
    for spec in sorted(info.endpoints.values(), key=lambda e: e.name):
        lines += _endpoint_section(spec)
    if info.jobs:
        lines += ["## Jobs", "", "| name | default schedule | description |", "|---|---|---|"]
        lines += [f"| `{j.name}` | {f'`{j.schedule}`' if j.schedule else 'when queued'} | {j.description} |"
                  for j in info.jobs.values()]
        lines.append("")
    if info.extensions:
        lines += ["## Extension points (for overrides)", ""]
        lines += [f"- `{name}`" for name in info.extensions] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _endpoint_section(spec: EndpointSpec) -> list[str]:
    path = f"/<instance>/<profile>/{spec.name}" + (f"/<{spec.pattern}>" if spec.pattern else "")
    lines = [f"### `{spec.name}`", "", spec.description, "",
             f"- `{' | '.join(spec.methods)} {path}`",
             f"- permission: `{spec.permission}`" + (f" (open with side effects: {spec.open_reason})"
                                                     if spec.open_reason else "")
             + (f"; cached {spec.cache_seconds} s" if spec.cache_seconds else "")]
    if spec.datasource:
        lines.append("- w.c.s. data source: items `{id, text, …}`, filters `q` and `id`")
    if spec.params:
        lines += ["", "| parameter | type | required | example | description |", "|---|---|---|---|---|"]
        lines += [f"| `{p.name}` | {p.type_name} | {'yes' if p.required else 'no'} | "
                  f"`{p.example!r}` | {p.description} |" for p in spec.params]
    if spec.body_example is not None:
        lines += ["", f"Body example: `{spec.body_example!r}`"]
    return [*lines, ""]


def write_all(registry: ConnectorRegistry, out: Path) -> list[Path]:
    """Write the hook reference and every connector's page under ``out``."""
    written = []
    (out / "connectors").mkdir(parents=True, exist_ok=True)
    target = out / "hooks.md"
    target.write_text(hooks_page(), encoding="utf-8")
    written.append(target)
    from framework.apidoc import api_page, testing_page

    for name, page in (("api.md", api_page()), ("testing.md", testing_page())):
        target = out / name
        target.write_text(page, encoding="utf-8")
        written.append(target)
    for info in registry.values():
        target = out / "connectors" / f"{info.id}.md"
        target.write_text(connector_page(info), encoding="utf-8")
        written.append(target)
    return written
