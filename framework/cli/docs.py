"""``raccord docs``: write the documentation generated from the code."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              show_default=True, help="directory to write into")
def docs(out: Path) -> None:
    """Generate docs/hooks.md, docs/api.md, docs/testing.md and docs/connectors/<id>.md from the code."""
    from framework.docgen import write_all
    from framework.plugins import load_registry, make_plugin_manager

    for path in write_all(load_registry(make_plugin_manager()), out):
        click.echo(f"wrote {path}")
