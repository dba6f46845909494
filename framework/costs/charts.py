"""Server-rendered SVG charts of the costs (no JavaScript, no external resource).

One drawing, horizontal stacked bars, serves the three pictures the steering
committee asked for: who pays what per instance (shared vs specific), the three
deployment models side by side, and what each override costs. Each chart is an
``<svg role="img">`` with a ``<title>`` and a ``<desc>`` summing it up; the same
figures are in the tables beside it. Colours keep a 3:1 contrast with the white
background (WCAG 2.1 non-text contrast) and text 4.5:1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from framework.costs.money import fmt_eur

#: Series colours: dark blue, dark orange, dark green — all ≥ 4.5:1 on white.
COLOURS = ("#1f5f99", "#a34a12", "#2e6b30")
TEXT = "#1a1a1a"
ROW, GAP, LABEL, WIDTH, AMOUNT = 20, 6, 210, 760, 110


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[int, ...]  # cents per series
    note: str = ""  # shown after the total (e.g. "overdue")

    @property
    def total(self) -> int:
        return sum(self.values)


def stacked_bars(chart_id: str, title: str, series: Sequence[str], bars: Sequence[Bar], desc: str = "") -> str:
    """Horizontal stacked bars, one per ``bars`` row, with a legend and totals."""
    top = 28 + 22  # title, legend
    height = top + len(bars) * (ROW + GAP) + 10
    scale = max([b.total for b in bars] + [1])
    span = WIDTH - LABEL - AMOUNT
    # Inline in HTML5: no xmlns needed (and the page names no outside address).
    out = [f'<svg class="chart" id="{escape(chart_id)}" role="img" '
           f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
           f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
           f'<desc id="{escape(chart_id)}-d">{escape(desc or _summary(series, bars))}</desc>',
           f'<text x="0" y="18" font-size="15" font-weight="bold" fill="{TEXT}">{escape(title)}</text>']
    x = 0
    for i, name in enumerate(series):
        out.append(f'<rect x="{x}" y="30" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>'
                   f'<text x="{x + 16}" y="41" font-size="12" fill="{TEXT}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    for row, bar in enumerate(bars):
        y = top + row * (ROW + GAP)
        out.append(f'<g class="bar"><text x="{LABEL - 6}" y="{y + 14}" font-size="12" text-anchor="end" '
                   f'fill="{TEXT}">{escape(_short(bar.label))}</text>')
        offset = float(LABEL)
        for i, value in enumerate(bar.values):
            w = span * value / scale
            if w > 0:
                out.append(f'<rect x="{offset:.1f}" y="{y}" width="{w:.1f}" height="{ROW}" '
                           f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(bar.label)} — '
                           f'{escape(series[i])} : {escape(fmt_eur(value))}</title></rect>')
            offset += w
        note = f" {bar.note}" if bar.note else ""
        out.append(f'<text x="{offset + 6:.1f}" y="{y + 14}" font-size="12" fill="{TEXT}">'
                   f'{escape(fmt_eur(bar.total) + note)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _short(label: str) -> str:
    return label if len(label) <= 30 else label[:29] + "…"


def _summary(series: Sequence[str], bars: Sequence[Bar]) -> str:
    return "; ".join(f"{b.label}: " + ", ".join(f"{s} {fmt_eur(v)}" for s, v in zip(series, b.values, strict=True))
                     for b in bars)
