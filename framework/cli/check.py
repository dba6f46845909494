"""``raccord check``, ``raccord list`` and ``raccord explain``."""

from __future__ import annotations

import sys
from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option
from framework.config.model import Binding, EffectiveSetting, OverrideDecl, Territory


def _load(ctx: click.Context) -> Territory:
    """The territory, or its errors printed and exit 1 (what `check` would refuse)."""
    from framework.loading import check_config

    territory, report, _ = check_config(ctx.obj["config"])
    if territory is None or not report.ok:
        for finding in report.sorted():
            if finding.level == "error":
                click.echo(f"error: {finding}", err=True)
        sys.exit(1)
    return territory


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="print errors only")
@format_option()
@click.pass_context
def check(ctx: click.Context, quiet: bool, fmt: str) -> None:
    """Validate instances.toml: every error at once, with file:line; exit 1 on error."""
    from framework.loading import check_config

    territory, report, _ = check_config(ctx.obj["config"])
    errors, warnings = len(report.errors), len(report.warnings)
    if fmt == "json":
        emit_json("check", {
            "config": ctx.obj["config"], "ok": report.ok, "errors": errors, "warnings": warnings,
            "findings": [finding_entry(f) for f in report.sorted() if f.level == "error" or not quiet],
            "overrides": [override_entry(b.override) for b in _ledger(territory) if b.override is not None]
            if territory is not None else [],
            "open_to_anyone": _open_entries(territory),
            "counts": _counts(territory)})
        if errors:
            sys.exit(1)
        return
    for finding in report.sorted():
        if finding.level == "error" or not quiet:
            click.echo(f"{finding.level}: {finding}")
    if territory is not None and not quiet:
        _print_overrides(territory)
        _print_open(territory)
    if errors:
        click.echo(f"{ctx.obj['config']}: {errors} error(s), {warnings} warning(s)")
        sys.exit(1)
    if territory is not None:
        click.echo(f"{ctx.obj['config']}: OK — {len(territory.instances)} instances, "
                   f"{len(territory.profiles)} profiles, {len(territory.bindings)} bindings, "
                   f"{warnings} warning(s)")


def finding_entry(finding: Any) -> dict[str, Any]:
    return {"level": finding.level, "file": finding.file, "line": finding.line, "key": finding.dotted,
            "message": finding.message, "hint": finding.hint}


def override_entry(decl: OverrideDecl) -> dict[str, Any]:
    return {"id": decl.ledger_id, "instance": None if decl.club else decl.instance, "profile": decl.profile,
            "reason": decl.reason,
            "owner": decl.owner, "review_by": decl.review_by.isoformat() if decl.review_by else None,
            "plugin": decl.plugin, "settings": list(decl.settings), "access": list(decl.access),
            "club": decl.club, "members": list(decl.members) or [decl.instance]}


def _declared(territory: Territory | None) -> list[OverrideDecl]:
    if territory is None:
        return []
    return [b.override for b in territory.bindings.values() if b.override is not None]


def _counts(territory: Territory | None) -> dict[str, int] | None:
    if territory is None:
        return None
    return {"instances": len(territory.instances), "profiles": len(territory.profiles),
            "bindings": len(territory.bindings)}


def _print_overrides(territory: Territory) -> None:
    declared = _ledger(territory)
    if not declared:
        click.echo("overrides: none — every instance follows the common project")
        return
    click.echo(f"overrides ({len(declared)}):")
    for binding in declared:
        decl = binding.override
        assert decl is not None
        parts = []
        if decl.plugin:
            parts.append(f"code {decl.plugin}")
        if decl.settings:
            parts.append(f"settings {', '.join(decl.settings)}")
        if decl.access:
            parts.append(f"loosens access to {', '.join(decl.access)}")
        review = f", review by {decl.review_by}" if decl.review_by else ""
        owner = f", owner {decl.owner}" if decl.owner else ""
        members = f" [club of {len(decl.members)}: {', '.join(decl.members)}]" if decl.club else ""
        click.echo(f"  [override] {decl.ledger_id}{members}: {'; '.join(parts) or 'declared'} — "
                   f"{decl.reason}{owner}{review}")
        for change in binding.applied.changes if binding.applied is not None else ():
            click.echo(f"      {change.describe()}")  # the ledger, field by field


def _ledger(territory: Territory) -> list[Binding]:
    """One binding per ledger line: a club's override once, with its members."""
    seen: set[str] = set()
    result = []
    for binding in territory.bindings.values():
        decl = binding.override
        if decl is not None and decl.ledger_id not in seen:
            seen.add(decl.ledger_id)
            result.append(binding)
    return result


def _open_entries(territory: Territory | None) -> list[dict[str, Any]]:
    from framework.checks.access import grouped, open_to_anyone

    if territory is None:
        return []
    return [{"instances": insts, "endpoints": eps} for insts, eps in grouped(open_to_anyone(territory))]


def _print_open(territory: Territory) -> None:
    """Every endpoint anyone may call, per instance; instances with the same list together."""
    import textwrap

    click.echo("open to anyone (no credentials needed):")
    for entry in _open_entries(territory):
        insts, eps = entry["instances"], entry["endpoints"]
        click.echo(f"  {', '.join(eps) or 'nothing'}")
        names = f"on {len(insts)} instance(s): {', '.join(insts)}"
        click.echo(textwrap.fill(names, width=100, initial_indent="    ", subsequent_indent="      ",
                                 break_on_hyphens=False))


@click.command("list")
@format_option()
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """List instances, their topology and the profiles they bind."""
    territory = _load(ctx)
    entries = [instance_entry(inst) for inst in territory.instances.values()]
    if fmt == "json":
        emit_json("list", {"territory": territory.name, "instances": entries})
        return
    rows = [[e["name"], e["kind"], f"hosted by {e['hosted_by']}" if e["hosted_by"] else "own deployment",
             ", ".join(f"{p}{' [override]' if p in e['overrides'] else ''}" for p in e["profiles"]) or "-"]
            for e in entries]
    echo_table([Col("instance", ident=True), Col("kind", ident=True), Col("deployment", ident=True),
                Col("profiles")], rows,
               title=f"{territory.name or '(territory)'}: {len(territory.instances)} instances")


def instance_entry(inst: Any) -> dict[str, Any]:
    return {"name": inst.name, "title": inst.title, "kind": inst.kind, "insee": list(inst.insee),
            "population": inst.population, "hosted_by": inst.hosted_by,
            "own_deployment": inst.own_deployment, "identity": dict(inst.identity),
            "profiles": list(inst.profiles), "overrides": sorted(inst.overrides)}


@click.command()
@click.argument("instance")
@click.argument("profile", required=False)
@click.option("--deviations", is_flag=True,
              help="only how the instance differs from the common project, with the overriding code")
@format_option()
@click.pass_context
def explain(ctx: click.Context, instance: str, profile: str | None, deviations: bool, fmt: str) -> None:
    """Show each effective setting of a binding, where it comes from and what it shadows."""
    territory = _load(ctx)
    if instance not in territory.instances:
        raise click.ClickException(f"unknown instance {instance!r}")
    profiles = [profile] if profile else list(territory.instances[instance].profiles)
    for name in profiles:
        if (instance, name) not in territory.bindings:
            raise click.ClickException(f"instance {instance!r} does not bind profile {name!r}")
    if deviations:
        from framework.checks.deviations import deviations as describe

        lines = describe(territory, instance)
        if fmt == "json":
            emit_json("explain", {"instance": instance, "deviations": lines, "overrides": [
                override_entry(b.override) for b in territory.bindings_of(instance) if b.override]})
        else:
            click.echo("\n".join(lines))
        return
    bindings = [territory.binding(instance, name) for name in profiles]
    if fmt == "json":
        emit_json("explain", {"instance": instance, "bindings": [binding_entry(b) for b in bindings]})
        return
    for binding in bindings:
        _explain_binding(binding)


def binding_entry(binding: Binding) -> dict[str, Any]:
    return {"binding": binding.id, "profile": binding.profile.name, "connector": binding.connector.id,
            "override": override_entry(binding.override) if binding.override else None,
            "settings": [setting_entry(e) for e in binding.settings.values()]}


def setting_entry(eff: EffectiveSetting) -> dict[str, Any]:
    def source(src: Any) -> dict[str, Any]:
        return {"layer": src.layer, "file": src.file or None, "line": src.line}

    return {"name": eff.name, "value": eff.shown(), "secret": eff.secret, "variability": eff.variability,
            "source": source(eff.source),
            "override": eff.source.layer == "instance" and eff.variability == "shared",
            "shadows": [{"value": eff.shown(v), "source": source(s)} for s, v in eff.shadows]}


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
