"""``raccord costs``: who pays what, per instance, profile and override."""

from __future__ import annotations

import datetime as dt
import sys

import click

from framework.cli.output import format_option
from framework.costs.render import FORMATS
from framework.costs.scenarios import TOPOLOGIES


def _parse_what_if(value: str | None) -> str | None:
    if value is None:
        return None
    key, sep, instance = value.partition("=")
    if key != "harmonise" or not sep or not instance:
        raise click.BadParameter("write --what-if harmonise=<instance>", param_hint="--what-if")
    return instance


@click.command()
@format_option(*(f for f in FORMATS if f not in ("table", "json")))
@click.option("--what-if", "what_if", metavar="harmonise=<instance>",
              help="what the instance (and the territory) would save without its overrides")
@click.option("--topology", type=click.Choice(TOPOLOGIES), default=None,
              help="cost the territory under this deployment model, compared with the other two")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="the date review_by is compared with (default: today)")
@click.option("--width", type=int, default=None, help="table width in characters (default: the terminal's)")
@click.option("--advise", is_flag=True,
              help="the harmonisation advisor: equivalent overrides, savings, overdue reviews")
@click.option("--instance", "sheet_of", metavar="INSTANCE",
              help="the instance's cost sheet (the annex of its convention; --format html to print it)")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="language of the HTML")
@click.pass_context
def costs(ctx: click.Context, fmt: str, what_if: str | None, topology: str | None,
          today: dt.datetime | None, width: int | None, advise: bool, sheet_of: str | None, lang: str) -> None:
    """Who pays what: shared shares, specific costs and overrides, in euros."""
    from framework.costs import render
    from framework.costs.advise import advise as advise_on
    from framework.costs.scenarios import compare_topologies, harmonise, report_for
    from framework.loading import check_config

    harmonised = _parse_what_if(what_if)
    territory, report, _ = check_config(ctx.obj["config"])
    if territory is None or not report.ok:
        for finding in report.errors:
            click.echo(f"error: {finding}", err=True)
        click.echo("costs need a valid configuration: run `raccord check`", err=True)
        sys.exit(1)
    on = today.date() if today else None
    model = topology or "hybrid"
    if harmonised is not None:
        if harmonised not in territory.instances:
            raise click.BadParameter(f"unknown instance {harmonised!r}", param_hint="--what-if")
        result, harmonisation = harmonise(territory, harmonised, model, today=on)
    else:
        result, harmonisation = report_for(territory, model, today=on), None
    if sheet_of is not None and sheet_of not in territory.instances:
        raise click.BadParameter(f"unknown instance {sheet_of!r}", param_hint="--instance")
    topologies = compare_topologies(territory, today=on) if topology or fmt == "html" else None
    advice = advise_on(territory, result) if advise or (fmt == "html" and sheet_of is None) else None
    if fmt == "json":
        data = render.to_data(result, topologies, harmonisation)
        if advice is not None:
            data["advice"] = render.advice_data(advice)
        if sheet_of is not None:
            data["sheet"] = render.sheet_data(result, sheet_of)
        click.echo(render.render_json({"command": "costs", "format_version": 1, **data}))
    elif fmt == "csv":
        click.echo(render.render_csv(result), nl=False)
    elif fmt == "html" and sheet_of is not None:
        click.echo(render.render_sheet_html(result, territory.instances[sheet_of], lang), nl=False)
    elif fmt == "html":
        click.echo(render.render_html(result, topologies, harmonisation, advice, lang), nl=False)
    elif sheet_of is not None:
        click.echo("".join(render.text_tables(render.sheet_tables(result, sheet_of), width)), nl=False)
    else:
        text = render.render_table(result, topologies, harmonisation, width=width)
        if advice is not None:
            text += "".join(render.text_tables(render.advice_tables(advice), width))
        click.echo(text, nl=False)
