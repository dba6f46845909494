"""``raccord check``, ``raccord list`` and ``raccord explain``."""

from __future__ import annotations

import sys

import click

from framework.config.model import Binding, EffectiveSetting, Territory


def _load(ctx: click.Context) -> Territory:
    """The territory, or its errors printed and exit 1 (what `check` would refuse)."""
    from framework.app import check_config

    territory, report, _ = check_config(ctx.obj["config"])
    if territory is None or not report.ok:
        for finding in report.sorted():
            if finding.level == "error":
                click.echo(f"error: {finding}", err=True)
        sys.exit(1)
    return territory


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="print errors only")
@click.pass_context
def check(ctx: click.Context, quiet: bool) -> None:
    """Validate instances.toml: every error at once, with file:line; exit 1 on error."""
    from framework.app import check_config

    territory, report, _ = check_config(ctx.obj["config"])
    for finding in report.sorted():
        if finding.level == "error" or not quiet:
            click.echo(f"{finding.level}: {finding}")
    if territory is not None and not quiet:
        _print_overrides(territory)
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        click.echo(f"{ctx.obj['config']}: {errors} error(s), {warnings} warning(s)")
        sys.exit(1)
    if territory is not None:
        click.echo(f"{ctx.obj['config']}: OK — {len(territory.instances)} instances, "
                   f"{len(territory.profiles)} profiles, {len(territory.bindings)} bindings, "
                   f"{warnings} warning(s)")


def _print_overrides(territory: Territory) -> None:
    overrides = [b for b in territory.bindings.values() if b.override is not None]
    if not overrides:
        click.echo("overrides: none — every instance follows the common project")
        return
    click.echo(f"overrides ({len(overrides)}):")
    for binding in overrides:
        decl = binding.override
        assert decl is not None
        parts = []
        if decl.plugin:
            parts.append(f"code {decl.plugin}")
        if decl.settings:
            parts.append(f"settings {', '.join(decl.settings)}")
        review = f", review by {decl.review_by}" if decl.review_by else ""
        owner = f", owner {decl.owner}" if decl.owner else ""
        click.echo(f"  [override] {decl.id}: {'; '.join(parts) or 'declared'} — {decl.reason}{owner}{review}")


@click.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List instances, their topology and the profiles they bind."""
    territory = _load(ctx)
    click.echo(f"{territory.name or '(territory)'}: {len(territory.instances)} instances")
    for inst in territory.instances.values():
        where = f"hosted by {inst.hosted_by}" if inst.hosted_by else "own deployment"
        flags = [f"{p}{' [override]' if p in inst.overrides else ''}" for p in inst.profiles]
        click.echo(f"  {inst.name:<20} {inst.kind:<13} {where:<22} {', '.join(flags) or '-'}")


@click.command()
@click.argument("instance")
@click.argument("profile", required=False)
@click.option("--deviations", is_flag=True,
              help="only how the instance differs from the common project, with the overriding code")
@click.pass_context
def explain(ctx: click.Context, instance: str, profile: str | None, deviations: bool) -> None:
    """Show each effective setting of a binding, where it comes from and what it shadows."""
    territory = _load(ctx)
    if instance not in territory.instances:
        raise click.ClickException(f"unknown instance {instance!r}")
    if deviations:
        from framework.checks.deviations import deviations as describe

        click.echo("\n".join(describe(territory, instance)))
        return
    profiles = [profile] if profile else list(territory.instances[instance].profiles)
    for name in profiles:
        if (instance, name) not in territory.bindings:
            raise click.ClickException(f"instance {instance!r} does not bind profile {name!r}")
        _explain_binding(territory.binding(instance, name))


def _explain_binding(binding: Binding) -> None:
    flag = f"  [override {binding.override.id}: {binding.override.reason}]" if binding.override else ""
    click.echo(f"{binding.id} — connector {binding.connector.id}{flag}")
    for eff in binding.settings.values():
        _explain_setting(eff)


def _explain_setting(eff: EffectiveSetting) -> None:
    marker = " [override]" if eff.source.layer == "instance" and eff.variability == "shared" else ""
    click.echo(f"  {eff.name} = {eff.shown()}  ← {eff.source}{marker}")
    for source, value in eff.shadows:
        click.echo(f"      shadows {eff.shown(value)} from {source}")
