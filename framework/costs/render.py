"""``raccord costs`` output: a rich table, JSON, CSV or a self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from framework.costs.compute import Amount, CostReport
from framework.costs.money import fmt_eur
from framework.costs.scenarios import Harmonisation, TopologyRow

FORMATS = ("table", "json", "csv", "html")


def amount_json(a: Amount) -> dict[str, int]:
    return {"first_year_cents": a.first, "recurring_cents": a.recurring}


def to_data(report: CostReport, topologies: list[TopologyRow] | None = None,
            harmonisation: Harmonisation | None = None) -> dict[str, Any]:
    """Everything as plain JSON-able data (amounts in integer cents)."""
    data: dict[str, Any] = {
        "territory": report.territory, "topology": report.topology,
        "model": {"day_rate_eur": report.day_rate_eur, "split": report.split,
                  "floor_eur": report.floor_eur, "platform": amount_json(report.platform)},
        "total": amount_json(report.total),
        "instances": [{
            "name": i.name, "title": i.title, "kind": i.kind, "own_deployment": i.own_deployment,
            "shared": amount_json(i.shared), "platform": amount_json(i.platform),
            "overrides": amount_json(i.overrides), "specific": amount_json(i.specific),
            "total": amount_json(i.total)} for i in report.instances],
        "profiles": [{
            "name": p.name, "connector": p.connector, "setup_days": p.cost.setup_days,
            "yearly_days": p.cost.yearly_days, "total": amount_json(p.amount),
            "instances": list(p.instances), "per_instance_average": amount_json(p.per_instance()),
            "parts_before_floor": {n: amount_json(a) for n, a in p.parts.items()}} for p in report.profiles],
        "overrides": [{
            "id": o.id, "instance": None if o.decl.club else o.decl.instance, "club": o.decl.club,
            "members": list(o.members), "parts": {n: amount_json(a) for n, a in o.parts.items()},
            "profile": o.decl.profile, "reason": o.decl.reason,
            "owner": o.decl.owner, "review_by": o.decl.review_by.isoformat() if o.decl.review_by else None,
            "review_overdue": o.expired, "plugin": o.decl.plugin, "settings": list(o.decl.settings),
            "access": list(o.decl.access),
            "setup_days": o.decl.setup_days, "yearly_days": o.decl.yearly_days, "cost": amount_json(o.amount),
            "size": {"code_lines": o.size.code_lines, "test_lines": o.size.test_lines,
                     "replaced": list(o.size.replaced), "added": list(o.size.added),
                     "problem": o.size.problem}} for o in report.overrides],
    }
    if topologies is not None:
        data["topologies"] = [{"topology": t.topology, "deployments": t.deployments,
                               "platform": amount_json(t.platform), "total": amount_json(t.total)}
                              for t in topologies]
    if harmonisation is not None:
        h = harmonisation
        data["what_if"] = {"harmonise": h.instance, "overrides_removed": list(h.overrides),
                           "instance_before": amount_json(h.before), "instance_after": amount_json(h.after),
                           "saving": amount_json(h.saving), "territory_before": amount_json(h.territory_before),
                           "territory_after": amount_json(h.territory_after)}
    return data


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def render_csv(report: CostReport) -> str:
    """One row per instance (cents, for spreadsheets), then the total."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["instance", "title", "kind", "own_deployment", "shared_first_cents", "specific_first_cents",
                "total_first_cents", "shared_recurring_cents", "specific_recurring_cents",
                "total_recurring_cents"])
    for i in report.instances:
        w.writerow([i.name, i.title, i.kind, i.own_deployment, i.shared.first, i.specific.first,
                    i.total.first, i.shared.recurring, i.specific.recurring, i.total.recurring])
    t = report.total
    w.writerow(["TOTAL", report.territory, "", report.deployments, "", "", t.first, "", "", t.recurring])
    return out.getvalue()


def tables(report: CostReport, topologies: list[TopologyRow] | None = None,
           harmonisation: Harmonisation | None = None,
           by_period: bool = False) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, header, rows) tables: shared by the rich and HTML renderers
    (``by_period``: the per-instance table as two, first year then recurring, to fit a
    narrow terminal)."""
    e = fmt_eur
    result = []
    if harmonisation is not None:
        h = harmonisation
        result.append((f"What if {h.instance} harmonised (removing {', '.join(h.overrides) or 'nothing'})",
                       ["", "first year", "recurring"],
                       [[f"{h.instance} as configured", e(h.before.first), e(h.before.recurring)],
                        [f"{h.instance} harmonised", e(h.after.first), e(h.after.recurring)],
                        ["saving", e(h.saving.first), e(h.saving.recurring)],
                        ["territory as configured", e(h.territory_before.first), e(h.territory_before.recurring)],
                        ["territory harmonised", e(h.territory_after.first), e(h.territory_after.recurring)]]))
    if topologies is not None:
        result.append(("Deployment models (same connectors, profiles and overrides)",
                       ["model", "platforms", "platform cost (1st year)", "total 1st year", "total recurring"],
                       [[t.topology, str(t.deployments), e(t.platform.first), e(t.total.first),
                         e(t.total.recurring)] for t in topologies]))
    title = (f"{report.territory} — who pays what ({report.topology}; {report.split} split, "
             f"floor {e(round(report.floor_eur * 100))}, day rate {e(round(report.day_rate_eur * 100))})")
    rows = [[i.name, "own" if i.own_deployment else "hosted", e(i.shared.first), e(i.specific.first),
             e(i.total.first), e(i.shared.recurring), e(i.specific.recurring), e(i.total.recurring)]
            for i in report.instances]
    t = report.total
    rows.append(["TOTAL", str(report.deployments), "", "", e(t.first), "", "", e(t.recurring)])
    header = ["instance", "platform", "shared 1st yr", "specific 1st yr", "total 1st yr",
              "shared recurring", "specific recurring", "total recurring"]
    if by_period:
        result.append((f"{title}, first year", header[:5], [r[:5] for r in rows]))
        result.append((f"{title}, recurring", [*header[:2], *header[5:]], [[*r[:2], *r[5:]] for r in rows]))
    else:
        result.append((title, header, rows))
    profiles = [[p.name, p.connector, f"{p.cost.setup_days:g}+{p.cost.yearly_days:g}",
                 str(len(p.instances)), e(p.amount.first), e(p.amount.recurring),
                 e(p.per_instance().first), e(p.per_instance().recurring)] for p in report.profiles]
    header = ["profile", "connector", "days (setup+yearly)", "instances", "cost 1st yr",
              "recurring", "avg per instance 1st yr", "avg recurring"]
    result.append(("Profiles (shared: split among the instances binding them)",
                   [header[i] for i in (0, 1, 3, 4, 5)] if by_period else header,
                   [[r[i] for i in (0, 1, 3, 4, 5)] for r in profiles] if by_period else profiles))
    header = ["override", "reason", "owner", "review by", "days (setup+yearly)", "cost 1st yr",
              "recurring", "measured size"]
    rows = [[o.id + (f"\n({', '.join(o.members)})" if o.decl.club else ""), o.decl.reason, o.decl.owner or "-",
             (o.decl.review_by.isoformat() if o.decl.review_by else "-") + (" OVERDUE" if o.expired else ""),
             f"{o.decl.setup_days:g}+{o.decl.yearly_days:g}", e(o.amount.first), e(o.amount.recurring),
             _size(o.size)] for o in report.overrides]
    title = "Overrides (specific: charged to their instance)"
    if by_period:
        pick = [0, 3, 5, 6, 1]
        result.append((title, [header[i] for i in pick], [[r[i] for i in pick] for r in rows]))
        pick = [0, 2, 4, 7]
        result.append(("Overrides: owner and measured size", [header[i] for i in pick],
                       [[r[i] for i in pick] for r in rows]))
    else:
        result.append((title, header, rows))
    return result


def _size(size: Any) -> str:
    if size.problem:
        return f"not measurable: {size.problem}"
    changes = ", ".join([*(f"replaces {r}" for r in size.replaced), *(f"adds {a}" for a in size.added)])
    return f"{size.code_lines} code / {size.test_lines} test lines" + (f"; {changes}" if changes else "")


def render_table(report: CostReport, topologies: list[TopologyRow] | None = None,
                 harmonisation: Harmonisation | None = None, width: int | None = None) -> str:
    """Rich tables as wide as the terminal (``width`` if given); names and amounts are
    never cut: on a narrow terminal the first year and recurring come as two tables."""
    from framework.cli.output import table_fits

    found = tables(report, topologies, harmonisation)
    if not all(table_fits(_cols(header), rows, width) for _, header, rows in found):
        found = tables(report, topologies, harmonisation, by_period=True)
    return "".join(text_tables(found, width))


_TEXT_COLUMNS = frozenset({"reason", "owner", "measured size", "members", "title", ""})


def text_tables(found: list[tuple[str, list[str], list[list[str]]]], width: int | None = None) -> list[str]:
    """Names and amounts never wrap (an amount split over two lines misreads); free text
    wraps, and headers break onto two lines so that narrow terminals fit more."""
    from framework.cli.output import render_table as table_text

    return [table_text(_cols(header), rows, title=title, width=width) for title, header, rows in found]


def _cols(header: list[str]) -> list[Any]:
    from framework.cli.output import Col

    return [Col(name if i == 0 or name in _TEXT_COLUMNS else name.replace(" ", "\n", 1),
                ident=name not in _TEXT_COLUMNS or i == 0,
                right=bool(i) and name not in ("reason", "owner", "connector", "members"))
            for i, name in enumerate(header)]


def render_html(report: CostReport, topologies: list[TopologyRow] | None = None,
                harmonisation: Harmonisation | None = None, advice: Any = None, lang: str = "fr") -> str:
    """One self-contained page (no script, no external resource), French by default:
    the tables, the SVG charts, the ledger and (with ``advice``) the advisor."""
    import datetime as dt

    from framework.costs.views import charts
    from framework.web.i18n import translator
    from framework.web.render import markup, render

    pictures = {k: markup(v) for k, v in charts(report, topologies, translator(lang)).items()}
    what_if = [tb for tb in tables(report, None, harmonisation)[:1]] if harmonisation is not None else []
    return render("costs.html", lang, report=report, topologies=topologies or [], charts=pictures,
                  advice=advice, what_if=what_if,
                  generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"))


def render_sheet_html(report: CostReport, instance: Any, lang: str = "fr") -> str:
    """The per-instance cost sheet, printable: the annex of the commune's convention."""
    import datetime as dt

    from framework.costs.views import sheet
    from framework.web.render import render

    return render("sheet.html", lang, report=report, instance=instance, sheet=sheet(report, instance.name),
                  generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"))


def advice_data(advice: Any) -> dict[str, Any]:
    """The advisor's findings as JSON (cents)."""
    return {
        "candidates": [{
            "profile": c.profile, "what": list(c.what), "overrides": list(c.overrides), "members": list(c.members),
            "overdue": list(c.overdue), "costs": {m: amount_json(a) for m, a in c.costs.items()},
            "promote": {"territory_saving": amount_json(c.promote_saving),
                        "saving": {m: amount_json(a) for m, a in c.costs.items()}},
            "club": {"cost": amount_json(c.club_cost), "parts": {m: amount_json(a) for m, a in c.club_parts.items()},
                     "saving": {m: amount_json(c.club_saving(m)) for m in c.members},
                     "territory_saving": amount_json(c.club_total_saving)}} for c in advice.candidates],
        "overdue": [{"id": o.id, "review_by": o.decl.review_by.isoformat() if o.decl.review_by else None,
                     "owner": o.decl.owner, "members": list(o.members)} for o in advice.overdue],
    }


def advice_tables(advice: Any) -> list[tuple[str, list[str], list[list[str]]]]:
    e = fmt_eur
    result = []
    for c in advice.candidates:
        rows = [[m + (" OVERDUE" if m in c.overdue else ""), e(c.costs[m].first), e(c.costs[m].recurring),
                 e(c.club_parts[m].first), e(c.club_saving(m).first), e(c.club_saving(m).recurring)]
                for m in c.members]
        rows.append(["territory", e(c.promote_saving.first), e(c.promote_saving.recurring), e(c.club_cost.first),
                     e(c.club_total_saving.first), e(c.club_total_saving.recurring)])
        result.append((f"Harmonise {c.profile} ({'; '.join(c.what)}): promoting saves each its cost; "
                       f"as a club each pays a part",
                       ["instance", "saving 1st yr", "saving recurring", "club part 1st yr",
                        "club saving 1st yr", "club saving recurring"], rows))
    if not advice.candidates:
        result.append(("Harmonisation advisor", ["finding"], [["no equivalent override in several instances"]]))
    if advice.overdue:
        result.append(("Overrides past their review_by", ["override", "review by", "owner"],
                       [[o.id, o.decl.review_by.isoformat() if o.decl.review_by else "-", o.decl.owner or "-"]
                        for o in advice.overdue]))
    return result


def sheet_data(report: CostReport, instance: str) -> dict[str, Any]:
    from framework.costs.views import sheet

    s = sheet(report, instance)
    cost = s["cost"]
    return {"instance": instance, "title": cost.title, "own_deployment": cost.own_deployment,
            "shared": amount_json(cost.shared), "platform": amount_json(cost.platform),
            "specific": amount_json(cost.overrides), "total": amount_json(cost.total),
            "profiles": [{"profile": p.profile.name, "connector": p.profile.connector,
                          "instances": len(p.profile.instances), "alone": amount_json(p.alone),
                          "part_before_floor": amount_json(p.part)} for p in s["profiles"]],
            "alone": amount_json(s["alone"]),
            "specifics": [{"id": x.override.id, "reason": x.override.decl.reason, "owner": x.override.decl.owner,
                           "club": x.override.decl.club, "members": list(x.override.members),
                           "review_overdue": x.override.expired, "part": amount_json(x.part)}
                          for x in s["specifics"]]}


def sheet_tables(report: CostReport, instance: str) -> list[tuple[str, list[str], list[list[str]]]]:
    from framework.costs.views import sheet

    e = fmt_eur
    s = sheet(report, instance)
    c = s["cost"]
    return [
        (f"{c.title} ({instance}) — what it pays", ["", "first year", "recurring"],
         [["shared", e(c.shared.first), e(c.shared.recurring)], ["platform", e(c.platform.first),
          e(c.platform.recurring)], ["specific", e(c.overrides.first), e(c.overrides.recurring)],
          ["total", e(c.total.first), e(c.total.recurring)]]),
        ("Shared profiles it benefits from", ["profile", "instances", "alone 1st yr", "its part 1st yr"],
         [[p.profile.name, str(len(p.profile.instances)), e(p.alone.first), e(p.part.first)] for p in s["profiles"]]),
        ("Its specifics", ["override", "reason", "owner", "its part 1st yr", "its part recurring"],
         [[x.override.id, x.override.decl.reason, x.override.decl.owner or "-", e(x.part.first),
           e(x.part.recurring)] for x in s["specifics"]]),
    ]
