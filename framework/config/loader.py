"""Loading ``instances.toml`` into a :class:`~framework.config.model.Territory`.

:func:`load` never raises on bad input: it returns the territory (or ``None`` when the
file cannot be used at all) and a :class:`~framework.config.report.Report` holding
every problem found, each with its file:line and a hint.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, cast

from framework.config import sections as S
from framework.config.access import check_access, parse_profile_access
from framework.config.bindings import build_bindings
from framework.config.files import read_bounded
from framework.config.instances import parse_instances
from framework.config.lines import LineIndex
from framework.config.model import (
    Cost,
    CostModel,
    GatewayConfig,
    Profile,
    Territory,
)
from framework.config.names import name_problem
from framework.config.nesting import MAX_NESTING, too_deep
from framework.config.report import Report, did_you_mean
from framework.config.values import INVALID, check_keys, read_section, setting_value
from framework.errors import FileRefused
from framework.registry import ConnectorRegistry

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a territory of 500 communes is well under 1 MB


def load(path: str | Path, registry: ConnectorRegistry) -> tuple[Territory | None, Report]:
    """Read, parse and validate ``path`` against the connector types in ``registry``."""
    file = str(path)
    report = Report(file)
    try:
        text = read_bounded(path, MAX_CONFIG_BYTES, "the configuration",
                            hint="give the path of instances.toml with --config or RACCORD_CONFIG"
                            ).decode("utf-8")
    except FileRefused as exc:
        report.error((), exc.message, hint=exc.hint)
        return None, report
    except OSError as exc:
        report.error((), f"cannot read the configuration ({exc.strerror})",
                     hint="give its path with --config or RACCORD_CONFIG")
        return None, report
    except UnicodeDecodeError:
        report.error((), "the configuration is not UTF-8 text", hint="save it as UTF-8")
        return None, report
    raw = _parse_toml(text, report)
    if raw is None:
        return None, report
    report.lines = LineIndex(text)
    return parse(raw, file, report, registry), report


def _parse_toml(text: str, report: Report) -> dict[str, Any] | None:
    # tomllib recurses once per level of nesting and builds every prefix of a dotted
    # key: 100,000 brackets are a RecursionError, 100,000 dots gigabytes. Measured first.
    deep = too_deep(text)
    if deep is not None:
        report.add("error", (), deep.message, hint=deep.hint, line=deep.line)
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        report.add("error", (), f"TOML syntax: {exc}", hint="fix the syntax at that line",
                   line=_toml_error_line(exc))
    except RecursionError:  # the scan missed a form of nesting: still one clear error
        report.error((), "the configuration is nested deeper than Python can parse",
                     hint=f"keep tables and arrays under {MAX_NESTING} levels deep")
    return None


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)  # Python ≥ 3.14
    if isinstance(lineno, int):
        return lineno
    import re

    m = re.search(r"at line (\d+)", str(exc))
    return int(m.group(1)) if m else None


def parse(raw: dict[str, Any], file: str, report: Report, registry: ConnectorRegistry) -> Territory:
    """Build the territory from parsed TOML, reporting every problem on the way."""
    base_dir = str(Path(file).resolve().parent)
    check_keys(report, (), raw, S.TOP)
    sections = {name: read_section(section, _table(raw, name, report), report, (name,), base_dir)
                for name, section in S.FRAMEWORK_SECTIONS.items()}
    profile_table = _table(raw, "profiles", report)
    profiles = _parse_profiles(profile_table, report, registry, base_dir)
    # A profile written but broken (say, a misspelt connector) is reported once, where it
    # is broken; the instances listing it must not each add "unknown profile".
    broken = set(profile_table) - set(profiles)
    instances = parse_instances(_table(raw, "instances", report), report, registry, profiles, base_dir,
                                broken=broken)
    from framework.config.clubs import apply_clubs, parse_clubs

    clubs = parse_clubs(_table(raw, "clubs", report), report, registry, profiles, instances, base_dir)
    instances = apply_clubs(clubs, instances)
    territory = sections["territory"]
    triage = territory["triage"] or None
    if triage is not None and triage not in instances:
        report.error(("territory", "triage"), f"triage instance {triage!r} is not defined",
                     hint=did_you_mean(str(triage), instances))
    if not instances:
        report.error(("instances",), "no instance is defined",
                     hint="add at least one [instances.<name>] table")
    bindings = check_access(instances, profiles, build_bindings(instances, profiles, registry, report, file),
                            registry, report, complete=not broken)
    return Territory(
        name=territory["name"],
        file=file,
        triage=triage,
        costs=_costs(sections["costs"]),
        profiles=profiles,
        instances=instances,
        bindings=bindings,
        storage_url=sections["storage"]["url"] or None,
        gateway=GatewayConfig(**sections["gateway"]),
        runtime=sections["runtime"],
        lines=report.lines,
        clubs=clubs,
    )


def _table(raw: dict[str, Any], key: str, report: Report, path: tuple[str, ...] = ()) -> dict[str, Any]:
    value = raw.get(key, {})
    if isinstance(value, dict):
        return value
    report.error((*path, key), f"{key!r} must be a table", hint=f"write it as [{'.'.join((*path, key))}]")
    return {}


Split = Literal["equal", "population", "weights"]


def _costs(values: dict[str, Any]) -> CostModel:
    platform = Cost(**values["platform"])
    return CostModel(values["day_rate_eur"], cast(Split, values["split"]), values["floor_eur"], platform)


def parse_cost(value: Any, report: Report, path: tuple[str, ...]) -> Cost:
    """``{ setup_days = …, yearly_days = … }``."""
    if not isinstance(value, dict):
        report.error(path, "expected { setup_days = …, yearly_days = … }")
        return Cost()
    return Cost(**read_section(S.COST, value, report, path, ""))


def _parse_profiles(table: dict[str, Any], report: Report, registry: ConnectorRegistry,
                    base_dir: str) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for name, body in table.items():
        path = ("profiles", name)
        if not isinstance(body, dict):
            report.error(path, "a profile must be a table", hint=f"write it as [profiles.{name}]")
            continue
        check_keys(report, path, body, S.PROFILE)
        if (problem := name_problem("profile", name)) is not None:
            report.error(path, problem[0], hint=problem[1])
        connector = body.get("connector")
        if not isinstance(connector, str):
            report.error(path, "the profile names no connector", hint='add connector = "<id>"')
            continue
        if connector not in registry:
            report.error((*path, "connector"), f"unknown connector {connector!r}",
                         hint=did_you_mean(connector, registry)
                         or f"installed connectors: {', '.join(registry)}")
            continue
        info = registry[connector]
        settings = _table(body, "settings", report, path)
        kept: dict[str, Any] = {}
        for key, value in settings.items():
            spath = (*path, "settings", key)
            if key not in info.settings:
                report.error(spath, f"{connector} has no setting {key!r}",
                             hint=did_you_mean(key, info.settings)
                             or f"its settings: {', '.join(sorted(info.settings))}")
                continue
            ok, kept_value = setting_value(info.settings[key], value, report, spath, base_dir)
            kept[key] = kept_value if ok else INVALID
        jobs = _parse_profile_jobs(_table(body, "jobs", report, path), report, path, set(info.jobs))
        profiles[name] = Profile(
            name=name,
            connector=connector,
            description=str(body.get("description", "")),
            settings=kept,
            cost=parse_cost(body.get("cost", {}), report, (*path, "cost")),
            jobs=jobs,
            access=parse_profile_access(body.get("access", {}), report, path, info),
        )
    return profiles


def _parse_profile_jobs(table: dict[str, Any], report: Report, path: tuple[str, ...],
                        known: set[str]) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    for name, body in table.items():
        jpath = (*path, "jobs", name)
        if name not in known:
            report.error(jpath, f"the connector has no job {name!r}",
                         hint=did_you_mean(name, known) or f"its jobs: {', '.join(sorted(known)) or 'none'}")
            continue
        if not isinstance(body, dict):
            report.error(jpath, 'expected { schedule = "…", enabled = true|false }')
            continue
        values = read_section(S.PROFILE_JOB, body, report, jpath, "")
        _check_schedule(values["schedule"], report, jpath)
        # Only what is written: an absent schedule keeps the connector's default.
        jobs[name] = {k: values[k] for k in body if k in values}
    return jobs


def _check_schedule(schedule: str, report: Report, jpath: tuple[str, ...]) -> None:
    from framework.runtime.schedule import parse_schedule

    if not schedule:
        return
    try:
        parse_schedule(schedule)
    except ValueError as exc:
        report.error((*jpath, "schedule"), str(exc))
