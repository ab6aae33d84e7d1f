"""Charts drawn on the server as SVG, no script: stacked columns, one per bucket, a colour per series.

By hand, not a charting library: pygal (the one well-kept SVG charting package) styles its charts with a
``<style>`` block and draws its tooltips with a script, both of which the pages' Content-Security-Policy
(``default-src 'self'``) refuses; leather draws no stacked columns. One chart of rectangles and text with
presentation attributes is about a hundred lines, and its tooltips are SVG ``<title>`` elements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito: told apart with every common colour blindness; the last is for "none" (no store, no channel).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#332288")
NONE_COLOUR = "#999999"
WIDTH, PLOT_HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 32, 36
LEGEND_ROW, LEGEND_COLUMNS = 18, 4
MAX_X_LABELS = 12
FONT = 'font-family="sans-serif" fill="#333"'
SMALL = f'{FONT} font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]  # one per bucket, >= 0
    none: bool = False  # the series of what has no group: drawn grey


def nice_ceiling(value: int) -> tuple[int, int]:
    """The axis top and step for a largest stack of ``value``: 1, 2 or 5 times a power of ten, at most 5 steps."""
    if value <= 0:
        return 1, 1
    magnitude = 10 ** max(int(math.log10(value)) - 1, 0)
    for step in (m * magnitude * 10**k for k in range(0, 12) for m in (1, 2, 5)):
        if value <= step * 5:
            return step * math.ceil(value / step), step
    return value, value  # unreachable for any sum of cents


def _colour(i: int, s: Series) -> str:
    return NONE_COLOUR if s.none else PALETTE[i % len(PALETTE)]


def stacked_columns(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    empty: str,
    amount: Callable[[int], str],
    show_title: bool = True,
) -> str:
    """The chart as SVG markup (every text escaped): ``labels`` under the columns, ``amount`` formats the axis
    and the tooltips, ``empty`` is said when there is nothing to draw. ``title`` names it for screen readers,
    and is drawn on it with ``show_title`` (a page that heads it itself passes False)."""
    n = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top, step = nice_ceiling(max(totals, default=0))
    legend_rows = math.ceil(len(series) / LEGEND_COLUMNS)
    height = TOP + PLOT_HEIGHT + BOTTOM + legend_rows * LEGEND_ROW
    plot_w = WIDTH - LEFT - RIGHT
    base = TOP + PLOT_HEIGHT
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"'
        f' role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/>',
    ]
    if show_title:
        out.append(f'<text x="{LEFT}" y="18" {FONT} font-size="13" font-weight="bold">{escape(title)}</text>')
    for tick in range(0, top + 1, step):
        y = base - PLOT_HEIGHT * tick / top
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {SMALL}>{escape(amount(tick))}</text>')
    band = plot_w / n
    bar = max(band * 0.7, 1.0)
    for i, label in enumerate(labels):
        x = LEFT + band * i + (band - bar) / 2
        y = float(base)
        for j, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = PLOT_HEIGHT * value / top
            y -= h
            tip = f"{label} · {s.name}: {amount(value)}"
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{_colour(j, s)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    every = math.ceil(len(labels) / MAX_X_LABELS) or 1
    for i in range(0, len(labels), every):
        x = LEFT + band * (i + 0.5)
        out.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" {SMALL}>{escape(labels[i])}</text>')
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#888"/>')
    if not any(totals):
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + PLOT_HEIGHT / 2:.1f}" text-anchor="middle" {SMALL}>'
            f"{escape(empty)}</text>"
        )
    for j, s in enumerate(series):
        row, column = divmod(j, LEGEND_COLUMNS)
        x = LEFT + column * (plot_w / LEGEND_COLUMNS)
        y = base + BOTTOM + row * LEGEND_ROW
        out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{_colour(j, s)}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y}" {SMALL}>{escape(s.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)
