"""Templates: Jinja2, sandboxed, HTML autoescaped, rendered in an instance's identity.

A template is three files named after it: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html`` (which may extend ``base.html``). The built-in ones live beside this
module; a ``template_dir`` set for a binding is searched first, file by file, so an
instance may replace only its layout (``base.html``) or only one text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import BadRequest

if TYPE_CHECKING:  # jinja2 is imported when a message is rendered, not by `raccord check`
    from jinja2.sandbox import ImmutableSandboxedEnvironment

BUILTIN = Path(__file__).parent / "templates"
DEFAULT_COLOR = "#333333"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=64)
def environment(template_dir: str | None) -> ImmutableSandboxedEnvironment:
    """One environment per template directory, kept: it caches compiled templates (a
    fresh one compiled them on every message and preview, ~35 ms, enough for a preview
    under load to be refused by its binding's bulkhead) and still reloads a template
    whose file changed (Jinja checks the file's time on each use)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, select_autoescape
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    loaders = [FileSystemLoader(template_dir)] if template_dir else []
    loaders.append(FileSystemLoader(str(BUILTIN)))
    # HTML is escaped (a citizen's description cannot inject markup); text and subject
    # are plain text and stay as written.
    return ImmutableSandboxedEnvironment(loader=ChoiceLoader(loaders), keep_trailing_newline=True,
                                         autoescape=select_autoescape(enabled_extensions=("html",),
                                                                      default_for_string=False))


def render(env: ImmutableSandboxedEnvironment, name: str, identity: Mapping[str, str],
           context: Mapping[str, Any]) -> Rendered:
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    values = {**context, "identity": _identity(identity)}
    try:
        subject = env.get_template(f"{name}.subject.txt").render(values)
        values["subject"] = " ".join(subject.split())  # one line: no header injection
        text = env.get_template(f"{name}.txt").render(values)
        html = env.get_template(f"{name}.html").render(values)
    except TemplateNotFound as exc:
        raise BadRequest(f"no template {exc.name!r}",
                         hint=f"a template is {name}.subject.txt, {name}.txt and {name}.html") from None
    except TemplateSyntaxError as exc:
        raise BadRequest(f"template {exc.name or name}:{exc.lineno}: {exc.message}") from None
    return Rendered(values["subject"], text, html)


def _identity(identity: Mapping[str, str]) -> dict[str, str]:
    """Every key a template may use, with neutral values for those an instance left out."""
    name = identity.get("name", "")
    color = identity.get("color") or DEFAULT_COLOR
    return {"logo": "", "email": "", "phone": "", "url": "", "address": "", **identity,
            "color": color, "secondary_color": identity.get("secondary_color") or color,
            "signature": identity.get("signature") or f"Les services de {name}"}
