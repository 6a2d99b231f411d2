"""SVG drawing primitives: the one language of the project's charts.

The lifecycle page (weekly.reporting.page) and the policy comparison (weekly.commands.policies)
draw with these: element builders, text width, legend, chart frame, a time axis over weekly
columns and tick steps. Strings in, a string out: no library, no randomness, no clock, so the
same figures give the same bytes. Text stays text (searchable, selectable, read aloud);
coordinates are written short (one decimal at most).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from html import escape

LEGEND_ROW = 18  # the height of a legend's row
INK, MUTED, AXIS, GRID = "#1d2733", "#4a5560", "#9aa3ad", "#e3e6ea"  # text, secondary text, axis lines, grid lines
# The page's font stack, for a chart opened alone (inside the page, its style sheet sets the font).
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"
# Okabe-Ito, in the order lines are told apart best (the yellow last: faint on white).
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def coord(value: float) -> str:
    """A coordinate, short: one decimal, none when it is .0."""
    return f"{value:.1f}".removesuffix(".0")


def text_width(text: str, size: float = 11, bold: bool = False) -> float:
    """The width `text` takes at font `size`, a little over: a label measured so fits."""
    # DejaVu Sans (what a bare Linux has) is among the widest: measured 0.52 em a character, 0.61 in bold
    return len(text) * size * (0.63 if bold else 0.56)


def attributes(attrs: dict) -> str:
    """Keyword arguments as SVG attributes: font_weight="600" -> font-weight="600"; class_ -> class."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{v}"' for k, v in attrs.items())


def text(x: float, y: float, text: str, size: float = 11, anchor: str = "start", **attrs) -> str:
    """A <text> at (x, y), its baseline; `text` escaped."""
    extra = attributes(attrs)
    return f'<text x="{coord(x)}" y="{coord(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def rect(x: float, y: float, w: float, h: float, fill: str, **attrs) -> str:
    """A <rect>; a negative width or height is drawn as none."""
    extra = attributes(attrs)
    return (f'<rect x="{coord(x)}" y="{coord(y)}" width="{coord(max(w, 0))}" height="{coord(max(h, 0))}" '
            f'fill="{fill}"{extra}/>')


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1, dash: str | None = None) -> str:
    """A <line>, dashed when `dash` is given (stroke-dasharray)."""
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{coord(x1)}" y1="{coord(y1)}" x2="{coord(x2)}" y2="{coord(y2)}" stroke="{stroke}" '
            f'stroke-width="{width}"{dashed}/>')


def circle(cx: float, cy: float, r: float, fill: str, inner: str = "", **attrs) -> str:
    """A <circle>; `inner`: its children (a <title>)."""
    head = f'<circle cx="{coord(cx)}" cy="{coord(cy)}" r="{coord(r)}" fill="{fill}"{attributes(attrs)}'
    return f"{head}>{inner}</circle>" if inner else f"{head}/>"


def path(runs: list[list[tuple[float, float]]], stroke: str, width: float = 1.5, dash: str | None = None,
         inner: str = "", **attrs) -> str:
    """One <path> through runs of points (a gap between runs), unfilled; `inner`: its
    children (a <title>)."""
    d = "".join("M" + "L".join(f"{coord(x)},{coord(y)}" for x, y in run) for run in runs if run)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    head = (f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"'
            f"{dashed}{attributes(attrs)}")
    return f"{head}>{inner}</path>" if inner else f"{head}/>"


def title(tooltip: str) -> str:
    """A <title>: the tooltip of the element it is in (the accessible name of an <svg>)."""
    return f"<title>{escape(tooltip)}</title>"


def svg(chart_id: str, width: float, height: float, body: list[str], label: str, **attrs) -> str:
    """A chart: an <svg> with its id, size and aria-label, holding `body`."""
    return (f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {coord(width)} {coord(height)}" '
            f'width="{coord(width)}" height="{coord(height)}" role="img" aria-label="{escape(label)}"'
            f"{attributes(attrs)}>" + "".join(body) + "</svg>")


def legend(x: float, y: float, items: list[tuple[str, str]], right: float) -> tuple[list[str], float, int]:
    """Legend items left to right from (x, y), on more rows when they pass `right`: (swatch
    svg at the origin, text). Returns the pieces, the x where they end and the rows."""
    out, start, rows = [], x, 1
    for swatch, label in items:
        width = 22 + text_width(label, 11.5)
        if x > start and x + width > right:
            x, y, rows = start, y + LEGEND_ROW, rows + 1
        out.append(f'<g transform="translate({coord(x)},{coord(y)})">{swatch}</g>')
        out.append(text(x + 22, y + 4, label, 11.5))
        x += width + 18
    return out, x, rows


def chart(chart_id: str, width: float, height: float, body: list[str], items: list[tuple[str, str]], label: str,
          left: float, right: float, legend_y: float = 14) -> str:
    """A chart with its legend on top, from `left` to `right`: the chart moves down by the
    legend's extra rows."""
    pieces, _, rows = legend(left, legend_y, items, right)
    shift = (rows - 1) * LEGEND_ROW
    inner = [f'<g transform="translate(0,{shift})">', *body, "</g>"] if shift else body
    return svg(chart_id, width, height + shift, pieces + inner, label)


def swatch_line(colour: str, width: float = 2, dash: str | None = None) -> str:
    """A legend's swatch: a short line."""
    return line(0, 0, 16, 0, colour, width, dash)


def swatch_box(fill: str, stroke: str = "none") -> str:
    """A legend's swatch: a small box."""
    return rect(2, -5, 12, 10, fill, stroke=stroke)


def swatch_vertical(colour: str, dash: str) -> str:
    """A legend's swatch: a short vertical line (a marked week)."""
    return line(8, -7, 8, 7, colour, 1.6, dash)


def column_x(i: float, n: int, left: float, plot: float) -> float:
    """The left edge of column `i` of `n` across a plot `plot` wide from `left` (i + 0.5: its middle)."""
    return left + i * plot / n


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    found, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            found.append((start, i))
            start = None
    return found


def run_points(values: list[float], a: int, b: int, x: Callable[[float], float],
               y: Callable[[float], float]) -> list[tuple[float, float]]:
    """A run of columns a..b through their middles (`x`: a column's left edge), held flat
    to the run's outer edges (so that a run of one column shows too)."""
    xs = [x(a), *(x(i + 0.5) for i in range(a, b)), x(b)]
    vs = [values[a], *values[a:b], values[b - 1]]
    return [(u, y(v)) for u, v in zip(xs, vs)]


def month_ticks(weeks: list[str], plot: float, week_room: float = 52) -> list[tuple[int, str]]:
    """Where a time axis of weekly columns `plot` wide is labelled: every week when a column
    is `week_room` wide at least, else the first week of every 1, 2, 3, 6 or 12 months,
    whichever first leaves room for the labels."""
    n = len(weeks)
    step = plot / n
    dates = [dt.date.fromisoformat(w) for w in weeks]
    if step >= week_room:
        return [(i, f"{d.day} {d:%b}" + (f" {d.year}" if i == 0 or d.year != dates[i - 1].year else ""))
                for i, d in enumerate(dates)]
    for months in (1, 2, 3, 6, 12):
        starts = [i for i, d in enumerate(dates) if i and d.month != dates[i - 1].month and (d.month - 1) % months == 0]
        if all((b - a) * step >= 50 for a, b in zip(starts, starts[1:])):
            break
    if not starts or starts[0] * step >= 60:
        starts = [0, *starts]
    ticks = []
    for i in starts:
        d = dates[i]
        new_year = not ticks or d.year != dates[ticks[-1][0]].year
        ticks.append((i, f"{d:%b} {d.year}" if new_year else f"{d:%b}"))
    return ticks


def time_axis(weeks: list[str], y: float, left: float, plot: float, label: str | None = "week starting",
              week_room: float = 52) -> list[str]:
    """The time axis under weekly columns: a line at `y`, ticks and their labels (month_ticks),
    and `label` left of it."""
    n = len(weeks)
    out = [line(left, y, left + plot, y, AXIS)]
    for i, tick in month_ticks(weeks, plot, week_room):
        x = column_x(i, n, left, plot)
        out.append(line(x, y, x, y + 5, AXIS))
        anchor = "end" if x > left + plot - 30 else "middle" if i else "start"
        out.append(text(x, y + 17, tick, 11, anchor, fill=MUTED))
    if label:
        out.append(text(left - 10, y + 17, label, 11, "end", fill=MUTED))
    return out


def nice_step(span: float, most: int = 6) -> float:
    """The tick step (1, 2 or 5 times a power of ten) that cuts `span` into at most `most` steps."""
    if span <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(span / most))
    return next(k * power for k in (1, 2, 5, 10) if span / (k * power) <= most)


def ticks(low: float, high: float, step: float) -> list[float]:
    """The multiples of `step` from `low` to `high` (rounded: no 0.30000000000000004)."""
    digits = max(0, -math.floor(math.log10(step)) + 1)
    first = math.ceil(low / step - 1e-9)
    return [round(k * step, digits) for k in range(first, math.floor(high / step + 1e-9) + 1)]


def wrap(text: str, width: float, size: float) -> list[str]:
    """`text` on as many lines as it takes to fit `width`, broken after _ or a space where
    it can, inside a word where it must: a name is never cut off."""
    room = max(4, int(width / text_width("x", size)))
    lines = [""]
    for piece in re.findall(r"[^_ ]*[_ ]?", text)[:-1]:
        while len(piece) > room:
            if lines[-1]:
                lines.append("")
            lines[-1], piece = piece[:room], piece[room:]
            lines.append("")
        if len(lines[-1]) + len(piece.rstrip()) > room and lines[-1]:
            lines.append("")
        lines[-1] += piece
    return [line.rstrip() for line in lines if line.strip()] or [text]
