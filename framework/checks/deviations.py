"""How an instance differs from the common project (``raccord explain --deviations``).

For each profile the instance binds: every value set at the instance layer as a diff
(common value → instance value, each with its source), the override declaration, and
what the override's code replaces or adds, with the overriding function's file:line.
"""

from __future__ import annotations

from framework.config.model import Binding, EffectiveSetting, Territory


def deviations(territory: Territory, instance: str) -> list[str]:
    """The report as lines of text."""
    inst = territory.instances[instance]
    where = f"hosted by {inst.hosted_by}" if inst.hosted_by else "own deployment"
    lines = [f"{instance} ({inst.title}, {inst.kind}, {where}) — differences from the common project"]
    for binding in territory.bindings_of(instance):
        lines.extend(_binding(binding))
    if not inst.profiles:
        lines.append("  binds no profile")
    return lines


def _binding(binding: Binding) -> list[str]:
    own = [e for e in binding.settings.values() if e.source.layer == "instance"]
    decl = binding.override
    head = f"{binding.profile.name} ({binding.connector.id})"
    access = _access(binding)
    if not own and decl is None and not access:
        return [f"{head}: follows the common project"]
    lines = [head + ":"]
    if decl is not None:
        review = f", review by {decl.review_by.isoformat()}" if decl.review_by else ""
        lines.append(f"  [override {decl.ledger_id}] {decl.reason} (owner {decl.owner or '-'}{review}; "
                     f"{decl.setup_days:g}+{decl.yearly_days:g} days)")
        if decl.club:
            lines.append(f"  club {decl.club}: declared once for {len(decl.members)} members, "
                         f"{', '.join(decl.members)}; its cost is split among them (raccord costs)")
    shared = [e for e in own if e.variability == "shared"]
    free = [e for e in own if e.variability != "shared"]
    for eff in shared:
        lines.append(f"  - {_diff(eff)}  [shared setting: override]")
    for eff in free:
        lines.append(f"  - {_diff(eff)}  [per-instance setting: expected]")
    lines.extend(access)
    if decl is not None and decl.plugin is not None:
        lines.extend(_code(binding))
    return lines


def _access(binding: Binding) -> list[str]:
    """The instance's access rules: common access → the instance's, loosening or not."""
    from framework.access import common_access, effective_access
    from framework.checks.access import binding_endpoints

    rules = binding.instance.access.get(binding.profile.name, {})
    if not rules:
        return []
    endpoints = binding_endpoints(binding)
    loosened = binding.override.access if binding.override is not None else ()
    lines = []
    for name in rules:
        spec = endpoints.get(name)
        if spec is None:
            continue
        kind = "loosens: override" if name in loosened else "tightens: free"
        lines.append(f"  - access {name}: {common_access(binding, spec).describe()} → "
                     f"{effective_access(binding, spec).describe()}  [{kind}]")
    return lines


def _diff(eff: EffectiveSetting) -> str:
    if eff.shadows:
        source, common = eff.shadows[0]
        return f"{eff.name}: {eff.shown(common)} [{source}] → {eff.shown()} [{eff.source}]"
    return f"{eff.name}: (no common value) → {eff.shown()} [{eff.source}]"


def _code(binding: Binding) -> list[str]:
    decl = binding.override
    assert decl is not None
    lines = [f"  code {decl.plugin}:"]
    builder = binding.applied  # applied once, at load; `check` reports one that fails
    if builder is None:
        return [*lines, "    cannot be applied (see `raccord check`)"]
    if not builder.changes:
        lines.append("    changes nothing (dead override?)")
    for change in builder.changes:
        lines.append(f"    {change.describe()} — {change.location}")
    return lines
