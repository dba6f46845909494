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
            "id": o.id, "instance": o.decl.instance, "profile": o.decl.profile, "reason": o.decl.reason,
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
    rows = [[o.id, o.decl.reason, o.decl.owner or "-",
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
                harmonisation: Harmonisation | None = None) -> str:
    """A self-contained page (no external resource); every value is escaped."""
    from html import escape

    parts = [f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
             f"<title>{escape(report.territory)} — coûts</title><style>"
             "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
             "td,th{border:1px solid #ccc;padding:.3em .6em}td{text-align:right}"
             "td:first-child{text-align:left}caption{text-align:left;font-weight:bold;padding:.5em 0}"
             "</style></head><body>"]
    for title, header, rows in tables(report, topologies, harmonisation):
        parts.append(f"<table><caption>{escape(title)}</caption><tr>")
        parts.extend(f"<th>{escape(h)}</th>" for h in header)
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)
