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
from framework.config.instances import parse_instances
from framework.config.lines import LineIndex
from framework.config.model import (
    Cost,
    CostModel,
    GatewayConfig,
    Profile,
    Territory,
)
from framework.config.report import Report, did_you_mean
from framework.config.values import INVALID, check_keys, expect, setting_value
from framework.registry import ConnectorRegistry


def load(path: str | Path, registry: ConnectorRegistry) -> tuple[Territory | None, Report]:
    """Read, parse and validate ``path`` against the connector types in ``registry``."""
    file = str(path)
    report = Report(file)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        report.error((), f"cannot read the configuration ({exc.strerror})",
                     hint="give its path with --config or RACCORD_CONFIG")
        return None, report
    except UnicodeDecodeError:
        report.error((), "the configuration is not UTF-8 text", hint="save it as UTF-8")
        return None, report
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        report.add("error", (), f"TOML syntax: {exc}", hint="fix the syntax at that line",
                   line=_toml_error_line(exc))
        return None, report
    report.lines = LineIndex(text)
    return parse(raw, file, report, registry), report


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
    territory = _table(raw, "territory", report)
    check_keys(report, ("territory",), territory, S.TERRITORY)
    profiles = _parse_profiles(_table(raw, "profiles", report), report, registry, base_dir)
    instances = parse_instances(_table(raw, "instances", report), report, registry, profiles, base_dir)
    from framework.config.clubs import apply_clubs, parse_clubs

    clubs = parse_clubs(_table(raw, "clubs", report), report, registry, profiles, instances, base_dir)
    instances = apply_clubs(clubs, instances)
    triage = territory.get("triage")
    if triage is not None and (not isinstance(triage, str) or triage not in instances):
        report.error(("territory", "triage"), f"triage instance {triage!r} is not defined",
                     hint=did_you_mean(str(triage), instances))
    if not instances:
        report.error(("instances",), "no instance is defined",
                     hint="add at least one [instances.<name>] table")
    bindings = check_access(instances, profiles, build_bindings(instances, profiles, registry, report, file),
                            registry, report)
    return Territory(
        name=str(territory.get("name", "")),
        file=file,
        triage=triage if isinstance(triage, str) else None,
        costs=_parse_costs(_table(raw, "costs", report), report),
        profiles=profiles,
        instances=instances,
        bindings=bindings,
        storage_url=_parse_storage(_table(raw, "storage", report), report),
        gateway=_parse_gateway(_table(raw, "gateway", report), report),
        runtime=_parse_runtime(_table(raw, "runtime", report), report),
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


def _parse_costs(table: dict[str, Any], report: Report) -> CostModel:
    check_keys(report, ("costs",), table, S.COSTS)
    split = table.get("split", "equal")
    if not isinstance(split, str) or split not in S.SPLITS:
        report.error(("costs", "split"), f"unknown split {split!r}",
                     hint=f"use one of {', '.join(sorted(S.SPLITS))}")
        split = "equal"
    numbers = {}
    for key in ("day_rate_eur", "floor_eur"):
        value = table.get(key, 0)
        numbers[key] = float(value) if expect(report, ("costs", key), value, float, "a number") else 0.0
        if numbers[key] < 0:
            report.error(("costs", key), "must not be negative")
    platform = parse_cost(table.get("platform", {}), report, ("costs", "platform"))
    return CostModel(numbers["day_rate_eur"], cast(Split, split), numbers["floor_eur"], platform)


def parse_cost(value: Any, report: Report, path: tuple[str, ...]) -> Cost:
    """``{ setup_days = …, yearly_days = … }``."""
    if not isinstance(value, dict):
        report.error(path, "expected { setup_days = …, yearly_days = … }")
        return Cost()
    check_keys(report, path, value, S.COST)
    days = {}
    for key in ("setup_days", "yearly_days"):
        v = value.get(key, 0)
        ok = expect(report, (*path, key), v, float, "a number of days")
        days[key] = float(v) if ok and v >= 0 else 0.0
        if ok and v < 0:
            report.error((*path, key), "must not be negative")
    return Cost(days["setup_days"], days["yearly_days"])


def _parse_storage(table: dict[str, Any], report: Report) -> str | None:
    check_keys(report, ("storage",), table, S.STORAGE)
    url = table.get("url")
    if url is not None and not expect(report, ("storage", "url"), url, str, "a database URL"):
        return None
    return url


def _parse_gateway(table: dict[str, Any], report: Report) -> GatewayConfig:
    check_keys(report, ("gateway",), table, S.GATEWAY)
    kwargs: dict[str, Any] = {}
    for key, kind, what in (("max_body_bytes", int, "a number of bytes"),
                            ("signature_window_seconds", int, "a number of seconds"),
                            ("public_url", str, "a URL")):
        if key in table and expect(report, ("gateway", key), table[key], kind, what):
            if kind is int and table[key] <= 0:
                # 0 or less would refuse every body / every signature (and -2 reads bodies unbounded).
                report.error(("gateway", key), f"{key} must be positive, not {table[key]}")
                continue
            kwargs[key] = table[key]
    if "error_status" in table:
        if table["error_status"] in S.ERROR_STATUS:
            kwargs["error_status"] = table["error_status"]
        else:
            report.error(("gateway", "error_status"), f"error_status must be one of "
                         f"{', '.join(sorted(S.ERROR_STATUS))}, not {table['error_status']!r}",
                         hint='"passerelle" (HTTP 200 and err 1, as w.c.s. expects) or "http"')
    return GatewayConfig(**kwargs)


def _parse_runtime(table: dict[str, Any], report: Report) -> dict[str, Any]:
    check_keys(report, ("runtime",), table, S.RUNTIME)
    for key, value in table.items():
        if key in S.RUNTIME:
            expect(report, ("runtime", key), value, float, "a number")
    return dict(table)


def _parse_profiles(table: dict[str, Any], report: Report, registry: ConnectorRegistry,
                    base_dir: str) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for name, body in table.items():
        path = ("profiles", name)
        if not isinstance(body, dict):
            report.error(path, "a profile must be a table", hint=f"write it as [profiles.{name}]")
            continue
        check_keys(report, path, body, S.PROFILE)
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
        check_keys(report, jpath, body, S.PROFILE_JOB)
        _check_schedule(body, report, jpath)
        jobs[name] = dict(body)
    return jobs


def _check_schedule(body: dict[str, Any], report: Report, jpath: tuple[str, ...]) -> None:
    from framework.runtime.schedule import parse_schedule

    schedule = body.get("schedule")
    if schedule is None:
        return
    if not isinstance(schedule, str):
        report.error((*jpath, "schedule"), 'expected a schedule string, e.g. "every 15m" or "30 3 * * *"')
        return
    try:
        parse_schedule(schedule)
    except ValueError as exc:
        report.error((*jpath, "schedule"), str(exc))
    if "enabled" in body and not isinstance(body["enabled"], bool):
        report.error((*jpath, "enabled"), "expected true or false")
