"""The Jinja2 environment: templates of this package, autoescape always on."""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from framework.costs.money import fmt_eur
from framework.web.i18n import translator


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("framework.web", "templates"),
        autoescape=True,  # every template, whatever its name: values are never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["eur"] = fmt_eur
    return env


def render(template: str, lang: str = "fr", **context: Any) -> str:
    text: str = environment().get_template(template).render(lang=lang, t=translator(lang), **context)
    return text


def markup(svg: str) -> Any:
    """Mark an SVG built by :mod:`framework.costs.charts` (which escapes its text) safe."""
    from markupsafe import Markup

    return Markup(svg)  # built with html.escape on every value
