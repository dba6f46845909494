"""The access checks that need an override's code applied, and who may call what.

The loader checks every access rule it can without running code
(framework/config/access.py). An instance's rule may name an endpoint its override
module adds: this plugin applies the module and checks those rules. It also
computes, per instance, the endpoints anyone may call (``raccord check`` lists them).
"""

from __future__ import annotations

from collections.abc import Mapping

from framework import hookimpl
from framework.access import effective_access, open_problem
from framework.config.model import Binding, Territory
from framework.config.report import Report, did_you_mean
from framework.declarations import EndpointSpec
from framework.registry import ConnectorRegistry


def binding_endpoints(binding: Binding) -> Mapping[str, EndpointSpec]:
    """The endpoints a binding serves: the connector's, as its override code changes them
    (applied once, at load; a broken override is reported there and its connector's are used)."""
    return binding.endpoints


@hookimpl
def raccord_check(territory: Territory, registry: ConnectorRegistry, report: Report) -> None:
    for binding in territory.bindings.values():
        rules = binding.instance.access.get(binding.profile.name, {})
        unknown = [name for name in rules if name not in binding.connector.endpoints]
        if not unknown:
            continue
        endpoints = binding_endpoints(binding)
        for name in unknown:
            path = ("instances", binding.instance.name, "access", binding.profile.name, name)
            spec = endpoints.get(name)
            if spec is None:
                report.error(path, f"{binding.id} has no endpoint {name!r} (its override code adds none by that name)",
                             hint=did_you_mean(name, endpoints) or f"its endpoints: {', '.join(sorted(endpoints))}")
            elif (problem := open_problem(spec, effective_access(binding, spec))) is not None:
                report.error(path, problem, hint="add open_reason = \"…\" to the rule, or require a permission")


def open_to_anyone(territory: Territory) -> dict[str, list[str]]:
    """Instance → the ``profile/endpoint`` names anyone (anonymous) may call there."""
    found: dict[str, list[str]] = {name: [] for name in territory.instances}
    for binding in territory.bindings.values():
        for spec in binding_endpoints(binding).values():
            if effective_access(binding, spec).open:
                found[binding.instance.name].append(f"{binding.profile.name}/{spec.name}")
    return {name: sorted(endpoints) for name, endpoints in found.items()}


def grouped(by_instance: Mapping[str, list[str]]) -> list[tuple[list[str], list[str]]]:
    """Instances with the same open endpoints together: (instances, endpoints), largest first."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for instance, endpoints in by_instance.items():
        groups.setdefault(tuple(endpoints), []).append(instance)
    return sorted(((insts, list(eps)) for eps, insts in groups.items()), key=lambda g: (-len(g[0]), g[0]))
