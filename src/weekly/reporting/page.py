"""The lifecycle page, `reports/lifecycle.html`: the chain's weeks at a glance, in one file.

Pure functions: the weeks' trackers, decisions, evaluations and drifts in, a string out.
Every chart is inline SVG drawn here with weekly.reporting.charts (as the policy comparison
is), its text as text, its style in the page: no script, style sheet or font is fetched, so
the page opens offline (bank desktops have no internet). Each chart over time is an <svg> with an id, the weeks side by side on one
shared axis, and one element per week carrying `data-week` (where the week's tooltip,
its <title>, lives). Weeks awaiting their outcomes, weeks too small to judge, binary
problems and missing PSI values are drawn as what they are.

Performance is shown as the triggers judge it (weekly.lifecycle.evidence): each week's figure pooled
over its evidence window, with its interval and the weeks it covers, the week alone beside
it; the decisions table says in words why each trigger fired or did not.
"""
from __future__ import annotations

import math
from html import escape
from typing import Iterable

import pandas as pd

from weekly.inputs.data import adverse_index
from weekly.reporting import card, charts
from weekly.reporting.style import CSS
from weekly.reporting.report import weekly_rows

WIDTH = 1180  # every chart over time: the same width and left margin, so that a week is one column down the page
LEFT = 196
RIGHT = 22
PLOT = WIDTH - LEFT - RIGHT
TRIGGERS = ("time", "performance", "drift", "initial")  # the rows of the trigger grid, in this order
# Okabe-Ito: told apart by colour-blind readers too; the first class (the riskiest, e.g. Poor) in vermillion.
CLASS_COLOURS = ("#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MODEL_COLOURS = {"catboost": "#3f6fae", "lightgbm": "#7d4e9f", "hist_gradient_boosting": "#a8730f"}
OTHER_MODEL = "#5f6b76"
F1_COLOUR, AUC_COLOUR, FLOOR_COLOUR = "#0b4f8a", "#8a8f96", "#c0392b"
ESTIMATE_COLOUR = "#16806b"  # estimated performance (before the outcomes): weekly.lifecycle.estimate
OUTCOME_COLOURS = {"retrained": "#1b7837", "kept out": "#e08a00", "blocked": "#c0392b"}
FIRED = "#2c3e50"
# PSI colour scale, piecewise linear between these stops (0.1: moderate shift, 0.25: significant).
PSI_STOPS = ((0.0, "#ffffff"), (0.1, "#fee391"), (0.25, "#fb9a29"), (0.5, "#d4500c"), (1.0, "#6b1f04"))
NO_VALUE = "url(#no-value)"


# ---------------------------------------------------------------- the weeks' figures

def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def week_records(trackers: list[dict], decisions: list[dict], evaluations: dict[str, dict], drifts: list[dict],
                 predicted_mix: dict[str, dict] | None = None, estimates: dict[str, dict] | None = None) -> list[dict]:
    """One record per week, in the trackers' order: the serving model, what the decision did
    and why, the week's figures once its outcomes are known (those of reports/weekly.csv),
    the class mix of its predictions (from its evaluation, or `predicted_mix` by week for
    weeks awaiting outcomes) and of its outcomes, and its PSI (None where there is none)."""
    rows = weekly_rows(trackers, evaluations, estimates=estimates).to_dict("records")
    decided = {d["week"]: d for d in decisions}
    drifted = {d["week"]: d for d in drifts}
    records = []
    for tracker, row in zip(trackers, rows):
        week = tracker["week"]
        decision, ev, drift = decided.get(week, {}), evaluations.get(week), drifted.get(week, {})
        triggers = decision.get("triggers", {})
        reasons = list(decision.get("reasons", []))
        gate = (tracker.get("selection") or {}).get("gate") or {}
        if tracker["retrained"]:
            outcome = "retrained"
        elif reasons and gate.get("passed") is False and tracker.get("last_retraining_date") == week:
            outcome = "kept out"  # the challenger gate kept the winner out
        elif reasons:
            outcome = "blocked"  # due, but the window was too small or no candidate could serve
        else:
            outcome = None
        risk = (ev or {}).get("risk") or {}
        records.append({
            "week": week,
            "version": str(tracker["model_version"]),
            "model_type": tracker["model_type"],
            "retrained": bool(tracker["retrained"]),
            "outcome": outcome,
            "why": tracker.get("kept_because"),
            "reasons": reasons,
            "blocked": decision.get("blocked"),
            "fired": {name: bool(triggers.get(name, {}).get("fired")) for name in TRIGGERS},
            "enabled": {name: bool(triggers.get(name, {}).get("enabled", False)) for name in TRIGGERS},
            "triggers": triggers,
            "evaluated": ev is not None,
            "too_small": bool(ev["too_small"]) if ev else None,
            "judged": ev is not None and not ev["too_small"] and _number(row["macro_f1"]) is not None,
            "macro_f1": _number(row["macro_f1"]),
            "auc": _number(row["auc"]),
            "ks": _number(risk.get("ks")),
            "rows": int(ev["rows"]) if ev else None,
            "applications": drift.get("rows", ev["applications"] if ev else None),
            "validation_f1": _number(tracker.get("macro_f1_score")),
            "predicted_mix": (ev or {}).get("predicted_mix") or (predicted_mix or {}).get(week),
            "outcome_mix": ev.get("outcome_mix") if ev and ev["rows"] else None,
            "pooled": pooled_figures(ev),
            "gate": gate,
            "psi": {name: _number(value) for name, value in (drift.get("features") or {}).items()},
            "score_psi": _number(drift.get("score")),
            "drift_window": drift.get("pooled") or {},
            "estimated": {key: _number(row[f"estimated_{key}"]) for key in ("macro_f1", "low", "high", "auc")},
            "estimate_error": _number(row["estimate_error"]),
        })
    return records


def pooled_figures(ev: dict | None) -> dict | None:
    """A week's evidence window (eval.json `pooled`, None before its outcomes): the weeks it
    covers, its rows, whether it was judged and if not why, and macro F1 and AUC with their
    intervals ({value, low, high})."""
    if ev is None:
        return None
    pooled = ev.get("pooled") or {}
    figures = {key: {k: _number((pooled.get(key) or {}).get(k)) for k in ("value", "low", "high")}
               for key in ("macro_f1", "auc")}
    return {"weeks": sorted(pooled.get("weeks") or []), "rows": pooled.get("rows"),
            "judged": bool(pooled.get("judged")) and figures["macro_f1"]["value"] is not None,
            "why_not": pooled.get("why_not") or (None if pooled else "no pooled figures in eval.json"),
            "confidence": pooled.get("confidence"), **figures}


def window_text(weeks: list[str], rows: int | None) -> str:
    """The weeks a pooled figure covers, in words: 'pooled over 2022-03-06..2022-04-10, 6 weeks, 412 rows'."""
    weeks = sorted(weeks or [])
    if not weeks:
        return "pooled over no week"
    span = weeks[0] if len(weeks) == 1 else f"{weeks[0]}..{weeks[-1]}"
    return f"pooled over {span}, {len(weeks)} week{'s' * (len(weeks) != 1)}, {rows} rows"


def interval_text(figure: dict, digits: int = 3) -> str:
    """'0.806 [0.759, 0.843]' (the value alone when it has no interval)."""
    value = _f(_number(figure.get("value")), digits)
    low, high = _number(figure.get("low")), _number(figure.get("high"))
    return value if low is None or high is None else f"{value} [{low:.{digits}f}, {high:.{digits}f}]"


def pooled_calibration(evaluations: Iterable[dict]) -> dict[str, list[dict]]:
    """Per class, the calibration bins of several evaluations pooled: counts added, mean
    predicted probability and observed rate weighted by count (empty bins left out)."""
    pooled: dict[str, dict[tuple, list[float]]] = {}
    for ev in evaluations:
        for cls, table in ((ev.get("risk") or {}).get("calibration") or {}).items():
            bins = pooled.setdefault(cls, {})
            for b in table:
                if not b["count"] or b["mean_predicted"] is None:
                    continue
                total = bins.setdefault(tuple(b["bin"]), [0, 0.0, 0.0])
                total[0] += b["count"]
                total[1] += b["count"] * b["mean_predicted"]
                total[2] += b["count"] * b["observed_rate"]
    return {
        cls: [{"bin": list(edges), "count": n, "mean_predicted": p / n, "observed_rate": o / n}
              for edges, (n, p, o) in sorted(bins.items())]
        for cls, bins in pooled.items()
    }


def calibration_weeks(records: list[dict]) -> tuple[str | None, list[str]]:
    """The model the calibration shows, the latest one with labelled rows, and the weeks
    with labelled rows it served (its version, and those weeks): pooled, small weeks count."""
    judged = [r for r in records if r["evaluated"] and r["rows"]]
    if not judged:
        return None, []
    version = judged[-1]["version"]
    return version, [r["week"] for r in judged if r["version"] == version]


# ---------------------------------------------------------------- the page's layout (weekly.reporting.charts draws)

def _hover(i: int, n: int, y: float, h: float, tooltip: str, week: str | None = None) -> str:
    """Week `i`'s column, invisible: hovering it shows the tooltip (and shades it). With
    `week`, it is the week's element (data-week) itself."""
    marked = f' data-week="{week}"' if week else ""
    return (f'<rect class="wk"{marked} x="{charts.coord(_x(i, n))}" y="{charts.coord(y)}" '
            f'width="{charts.coord(PLOT / n)}" height="{charts.coord(h)}"><title>{escape(tooltip)}</title></rect>')


def _week_group(week: str, cells: list[str]) -> str:
    """A week's element of a chart: its cells, grouped, carrying data-week."""
    return f'<g data-week="{week}">{"".join(cells)}</g>'


def _x(i: float, n: int) -> float:
    """The left edge of week `i`'s column (i + 0.5: its middle)."""
    return charts.column_x(i, n, LEFT, PLOT)


def _chart(chart_id: str, height: float, body: list[str], items: list[tuple[str, str]], label: str,
           legend_y: float = 14) -> str:
    """A chart over time, the page's width, with its legend on top."""
    return charts.chart(chart_id, WIDTH, height, body, items, label, LEFT, LEFT + PLOT, legend_y)


def _time_axis(weeks: list[str], y: float) -> list[str]:
    """The page's time axis under the weeks' columns."""
    return charts.time_axis(weeks, y, LEFT, PLOT)


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _serving(record: dict) -> str:
    return f"v{record['version']} {record['model_type']}"


def _model_colour(model_type: str) -> str:
    return MODEL_COLOURS.get(model_type, OTHER_MODEL)


# ---------------------------------------------------------------- the charts

def _pooled_series(records: list[dict], key: str, part: str = "value") -> list[float | None]:
    """Per week, a part (value, low, high) of its judged pooled figure `key`, else None."""
    return [r["pooled"][key][part] if r["pooled"] and r["pooled"]["judged"] else None for r in records]


def _run_points(values: list[float], a: int, b: int, n: int, y) -> list[str]:
    """A run of weeks a..b through the middles of their columns, as SVG points (charts.run_points)."""
    return [f"{charts.coord(u)},{charts.coord(v)}" for u, v in charts.run_points(values, a, b, lambda i: _x(i, n), y)]


def performance_chart(records: list[dict], floor: float | None = None) -> str:
    """Macro F1 and AUC of the serving model, each week's pooled over its evidence window
    (macro F1 with its interval as a band, the week alone as a dot), retrainings as vertical
    lines (kept-out challengers and blocked retrainings too), the performance floor (when
    there is one), the lowest pooled week, weeks awaiting outcomes shaded, and the serving
    model (version and type) as a band under the plot."""
    n = len(records)
    top, bottom = 40, 262
    band_y, band_h = bottom + 12, 32
    axis_y = band_y + band_h + 8
    judged = [r for r in records if r["judged"]]
    f1, auc = _pooled_series(records, "macro_f1"), _pooled_series(records, "auc")
    low, high = _pooled_series(records, "macro_f1", "low"), _pooled_series(records, "macro_f1", "high")
    values = [v for v in (*f1, *auc, *low, *high) if v is not None] + [r["macro_f1"] for r in judged]
    values += [r["estimated"][k] for r in records for k in ("macro_f1", "low", "high")
               if r["estimated"][k] is not None and (k == "macro_f1" or not r["evaluated"])]
    values += [floor] if floor is not None else []
    lo = math.floor((min(values) - 0.02) * 20) / 20 if values else 0.5
    hi = math.ceil((max(values) + 0.01) * 20) / 20 if values else 1.0
    lo, hi = max(0.0, min(lo, hi - 0.1)), min(1.0, hi)

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    step = PLOT / n
    body = []
    for a, b in charts.runs([not r["evaluated"] for r in records]):
        body.append(charts.rect(_x(a, n), top, (b - a) * step, bottom - top, "#eceef1"))
        if (b - a) * step >= 110:
            body.append(charts.text(_x(a, n) + 6, top + 14, "awaiting outcomes", 11, fill="#5a6572"))
    grid = 0.05 if hi - lo <= 0.5 else 0.1
    v = lo
    while v <= hi + 1e-9:
        body.append(charts.line(LEFT, y(v), LEFT + PLOT, y(v), "#e3e6ea"))
        body.append(charts.text(LEFT - 8, y(v) + 4, f"{v:.2f}", 11, "end", fill="#4a5560"))
        v = round(v + grid, 10)
    body.append(charts.text(LEFT - 52, (top + bottom) / 2, "score (0 to 1)", 12, "middle", fill="#4a5560",
                      transform=f"rotate(-90 {charts.coord(LEFT - 52)} {charts.coord((top + bottom) / 2)})"))
    if floor is not None and lo <= floor <= hi:
        body.append(charts.line(LEFT, y(floor), LEFT + PLOT, y(floor), FLOOR_COLOUR, 1.2, "6 4"))
    styles = {"retrained": ("#2b2f33", "4 3"), "kept out": (OUTCOME_COLOURS["kept out"], "2 2"),
              "blocked": (OUTCOME_COLOURS["blocked"], "2 2")}
    for i, r in enumerate(records):
        if r["outcome"]:
            colour, dash = styles[r["outcome"]]
            body.append(charts.line(_x(i, n), top, _x(i, n), bottom, colour, 1.3, dash))
            body.append(f'<path d="M{charts.coord(_x(i, n) - 4)},{top - 7}h8l-4,6z" fill="{colour}"/>')
    for a, b in charts.runs([v is not None and w is not None for v, w in zip(low, high)]):
        points = _run_points(high, a, b, n, y) + _run_points(low, a, b, n, y)[::-1]
        body.append(f'<polygon points="{" ".join(points)}" fill="{F1_COLOUR}" fill-opacity="0.16"/>')
    for series, colour, dash, width in ((f1, F1_COLOUR, None, 2.2), (auc, AUC_COLOUR, "5 3", 1.6)):
        for a, b in charts.runs([v is not None for v in series]):
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            body.append(f'<polyline points="{" ".join(_run_points(series, a, b, n, y))}" fill="none" stroke="{colour}" '
                        f'stroke-width="{width}" stroke-linejoin="round"{dashed}/>')
    estimated = [r["estimated"]["macro_f1"] for r in records]
    for a, b in charts.runs([v is not None for v in estimated]):
        body.append(f'<polyline points="{" ".join(_run_points(estimated, a, b, n, y))}" fill="none" '
                    f'stroke="{ESTIMATE_COLOUR}" stroke-width="1.4" stroke-dasharray="1 3" stroke-linecap="round"/>')
    for i, r in enumerate(records):  # a week awaiting outcomes: its estimate's interval
        e = r["estimated"]
        if not r["evaluated"] and e["low"] is not None and e["high"] is not None:
            x = _x(i + 0.5, n)
            body.append(charts.line(x, y(max(lo, e["low"])), x, y(min(hi, e["high"])), ESTIMATE_COLOUR, 1.6))
    radius = 2.6 if step >= 8 else 1.8
    body += [charts.circle(_x(i + 0.5, n), y(r["macro_f1"]), radius, "#fff", stroke=F1_COLOUR, stroke_width="1.2")
             for i, r in enumerate(records) if r["judged"]]
    for i, r in enumerate(records):
        if r["evaluated"] and not r["pooled"]["judged"]:
            cx, cy = _x(i + 0.5, n), bottom - 6
            body.append(f'<path d="M{charts.coord(cx - 3)},{charts.coord(cy - 3)}l6,6m0,-6l-6,6" stroke="#6b7580" '
                        'stroke-width="1.5"/>')
    if any(v is not None for v in f1):
        body += _worst_week(records, f1, y, floor if floor is not None and lo <= floor <= hi else None, top, bottom)
    body += _serving_band(records, band_y, band_h)
    body += _time_axis([r["week"] for r in records], axis_y)
    confidence = next((r["pooled"]["confidence"] for r in records if r["pooled"] and r["pooled"]["confidence"]), None)
    items = [(charts.swatch_line(F1_COLOUR, 2.2), "macro F1, pooled over the evidence window"),
             (charts.rect(2, -5, 12, 10, F1_COLOUR, fill_opacity="0.16"),
              f"its {confidence:.0%} interval" if confidence else "its interval"),
             (f'<circle cx="8" cy="0" r="3" fill="#fff" stroke="{F1_COLOUR}" stroke-width="1.2"/>',
              "macro F1 of the week alone"),
             (charts.swatch_line(AUC_COLOUR, 1.6, "5 3"), "AUC, pooled")]
    if any(r["estimated"]["macro_f1"] is not None for r in records):
        items.append((charts.swatch_line(ESTIMATE_COLOUR, 1.4, "1 3"),
                      "ESTIMATED macro F1 of the week alone, from its calibrated probabilities when scored "
                      "(a bar: its interval, while the outcomes are pending)"))
    items.append((charts.swatch_vertical("#2b2f33", "4 3"), "retraining (new model serves from that week)"))
    if any(r["outcome"] == "kept out" for r in records):
        items.append((charts.swatch_vertical(OUTCOME_COLOURS["kept out"], "2 2"), "challenger kept out"))
    if any(r["outcome"] == "blocked" for r in records):
        items.append((charts.swatch_vertical(OUTCOME_COLOURS["blocked"], "2 2"), "retraining due, not done"))
    if floor is not None:
        items.append((charts.swatch_line(FLOOR_COLOUR, 1.2, "6 4"), f"performance floor {floor:g}"))
    if any(r["evaluated"] and not r["pooled"]["judged"] for r in records):
        items.append(('<path d="M5,-3l6,6m0,-6l-6,6" stroke="#6b7580" stroke-width="1.5"/>',
                      "not judged, even pooled (too few outcomes)"))
    if any(not r["evaluated"] for r in records):
        items.append((charts.swatch_box("#eceef1", "#c9ced4"), "awaiting outcomes"))
    for model_type in dict.fromkeys(r["model_type"] for r in records):
        items.append((charts.swatch_box(_model_colour(model_type)), f"{model_type} serves (band)"))
    for i, r in enumerate(records):
        body.append(_hover(i, n, top, band_y + band_h - top, _performance_tooltip(r), r["week"]))
    return _chart("performance", axis_y + 26, body, items,
                  "Pooled macro F1 and AUC of the serving model with intervals, and retrainings")


def _worst_week(records: list[dict], values: list[float | None], y, floor: float | None, top: float,
                bottom: float) -> list[str]:
    """The week of the lowest pooled macro F1 (`values`), circled and named: under the point
    (the line is above it), or under the floor line, or over the point; towards the side
    with room."""
    n = len(records)
    i = min((i for i, v in enumerate(values) if v is not None), key=lambda i: values[i])
    cx, cy = _x(i + 0.5, n), y(values[i])
    label = f"lowest {records[i]['week']}: pooled macro F1 {values[i]:.3f}"
    right = cx - 8 + charts.text_width(label, 11.5, bold=True) < LEFT + PLOT
    options = (cy + 21, y(floor) + 17 if floor is not None and y(floor) > cy else cy + 21, cy - 12)
    clear = [ly for ly in options if top + 12 < ly < bottom - 2 and (floor is None or abs(ly - 4 - y(floor)) > 9)]
    return [charts.circle(cx, cy, 6, "none", stroke=FLOOR_COLOUR, stroke_width="1.5"),
            charts.text(cx - 8 if right else cx + 8, clear[0] if clear else cy - 12, label, 11.5,
                        "start" if right else "end", fill=FLOOR_COLOUR, font_weight="600", class_="halo")]


def _serving_band(records: list[dict], band_y: float, band_h: float) -> list[str]:
    """The serving model along the time axis: a segment per model, coloured by type (two
    shades, so that neighbours of one type are told apart), its version and type written
    in it when they fit."""
    n = len(records)
    step = PLOT / n
    body = [charts.text(LEFT - 8, band_y + 20, "serving model", 11.5, "end", fill="#4a5560")]
    segments, shade = [], {}
    for i, r in enumerate(records):
        if segments and segments[-1][2:] == [r["version"], r["model_type"]]:
            segments[-1][1] = i + 1
        else:
            segments.append([i, i + 1, r["version"], r["model_type"]])
    for a, b, version, model_type in segments:
        shade[model_type] = not shade.get(model_type, True)
        x, w = _x(a, n), (b - a) * step
        body.append(charts.rect(x, band_y, w, band_h, _model_colour(model_type), stroke="#fff", stroke_width="1",
                          fill_opacity="1" if shade[model_type] else "0.78"))
        if charts.text_width(f"v{version}", 11, bold=True) + 4 <= w:
            body.append(charts.text(x + w / 2, band_y + 14, f"v{version}", 11, "middle", fill="#fff",
                                    font_weight="700"))
            if charts.text_width(model_type, 9.5) + 6 <= w:
                body.append(charts.text(x + w / 2, band_y + 27, model_type, 9.5, "middle", fill="#fff"))
    return body


def _performance_tooltip(r: dict) -> str:
    parts = [r["week"], f"served by {_serving(r)}"]
    if r["retrained"]:
        parts.append(f"retrained ({', '.join(r['reasons'])})")
    elif r["outcome"]:
        parts.append(r["why"] or f"{r['outcome']} ({', '.join(r['reasons'])})")
    e = r["estimated"]
    if e["macro_f1"] is not None:
        interval = f" [{_f(e['low'])}, {_f(e['high'])}]" if e["low"] is not None else ""
        error = f", off by {r['estimate_error']:+.3f}" if r["estimate_error"] is not None else ""
        parts.append(f"ESTIMATED when scored: macro F1 {_f(e['macro_f1'])}{interval}, AUC {_f(e['auc'])}{error}")
    if not r["evaluated"]:
        parts.append("awaiting outcomes")
    else:
        if r["too_small"]:
            parts.append(f"the week alone too small to judge ({r['rows']} labelled rows)")
        else:
            ks = f", KS {_f(r['ks'])}" if r["ks"] is not None else ""
            parts.append(f"the week alone: macro F1 {_f(r['macro_f1'])}, AUC {_f(r['auc'])}{ks} on {r['rows']} "
                         "labelled rows")
        parts.append(_pooled_text(r["pooled"]))
    return " · ".join(parts)


def _pooled_text(pooled: dict) -> str:
    window = window_text(pooled["weeks"], pooled["rows"])
    if not pooled["judged"]:
        return f"{window}: not judged: {pooled['why_not']}"
    return f"{window}: macro F1 {interval_text(pooled['macro_f1'])}, AUC {interval_text(pooled['auc'])}"


def why_time(trigger: dict) -> str:
    """Why the time trigger fired or not, in words."""
    inputs, limit = trigger.get("inputs") or {}, trigger.get("threshold") or {}
    days = inputs.get("days_since_last_retraining")
    if days is None:
        return "no retraining yet"
    return (f"{days} days since the retraining of {inputs.get('last_retraining_date')}; "
            f"fires at ≥ {limit.get('max_days')} days")


def why_performance(trigger: dict) -> str:
    """Why the performance trigger fired or not, in words: the pooled figure with its
    interval and window against the floor and against validation - max_drop, at alpha;
    or why its window was not judged."""
    inputs, limit = trigger.get("inputs") or {}, trigger.get("threshold") or {}
    if not inputs.get("judged"):
        return f"not judged: {inputs.get('why_not') or 'no evaluation of the serving model yet'}"
    metric = {"macro_f1": "macro F1", "auc": "AUC"}.get(inputs.get("metric"), inputs.get("metric"))
    parts = [f"{metric} {interval_text(inputs)}, {window_text(inputs.get('weeks'), inputs.get('rows'))}"]
    floor = _number(limit.get("floor"))
    if floor is None:
        parts.append("no floor")
    else:
        parts.append(f"floor {floor:g}: {'' if inputs.get('below_floor') else 'not '}significantly below")
    validation, drop = inputs.get("validation") or {}, limit.get("max_drop")
    if _number(validation.get("value")) is not None and drop is not None:
        z = _number(inputs.get("drop_z"))
        parts.append(f"validation {validation['value']:.3f} − max drop {drop:g} = {validation['value'] - drop:.3f}: "
                     f"{'' if inputs.get('significant_drop') else 'not '}significantly under"
                     + (f" (z {z:.2f})" if z is not None else ""))
    if inputs.get("single_class"):
        parts.append(f"predicts a single class ({', '.join(inputs.get('predicted_classes') or [])})")
    return "; ".join(parts) + f"; one-sided at α {limit.get('alpha')}"


def why_drift(trigger: dict) -> str:
    """Why the drift trigger fired or not, in words: the pooled window, the features that
    moved (PSI above its critical value and the magnitude floor), those the model had
    already seen, those significant but under the floor and the score; or why the window
    was not judged."""
    inputs, limit = trigger.get("inputs") or {}, trigger.get("threshold") or {}
    if not inputs.get("judged"):
        return f"not judged: {inputs.get('why_not') or 'no drift measured against the serving model yet'}"
    features, over, floor = inputs.get("features") or {}, inputs.get("features_over") or [], limit.get("threshold")
    parts = [f"{window_text(inputs.get('weeks'), inputs.get('rows'))}: {len(over)} of {len(features)} features moved "
             f"(PSI over its critical value at α {limit.get('alpha')} and ≥ {floor}; "
             f"{limit.get('min_features')} needed)"]

    def psi(name: str) -> str:
        t = features.get(name) or {}
        return f"{name} {_f(_number(t.get('psi')))} > {_f(_number(t.get('critical')))}"

    if over:
        parts.append("moved: " + ", ".join(map(psi, over)))
    if inputs.get("already_seen"):
        parts.append("already moved in the model's validation weeks (not counted): " + ", ".join(inputs["already_seen"]))
    small = [f for f, t in features.items()
             if floor is not None and t.get("significant") and (_number(t.get("psi")) or 0) < floor]
    if small:
        parts.append(f"significant, under {floor}: " + ", ".join(map(psi, small)))
    if inputs.get("score_psi") is not None:
        parts.append(f"score PSI {_f(_number(inputs['score_psi']))} (critical "
                     f"{_f(_number(inputs.get('score_critical')))}, floor {limit.get('score_threshold')})")
    return "; ".join(parts)


REASONS = {"performance": why_performance, "drift": why_drift, "time": why_time}  # the decisions table's columns


def trigger_labels(decisions: list[dict]) -> dict[str, str]:
    """Each trigger's row label with its threshold, from the newest decision where it is on."""
    labels = {"time": "time", "performance": "performance", "drift": "drift", "initial": "initial (no model yet)"}
    for decision in decisions:
        for name, trigger in decision.get("triggers", {}).items():
            threshold = trigger.get("threshold") or {}
            if not trigger.get("enabled") or name not in labels:
                continue
            if name == "time" and "max_days" in threshold:
                labels[name] = f"time: ≥ {threshold['max_days']} days"
            elif name == "performance" and "floor" in threshold:
                floor = _number(threshold["floor"])
                labels[name] = "performance (no floor)" if floor is None else f"performance (floor {floor:g})"
            elif name == "drift" and "threshold" in threshold:
                labels[name] = f"drift (PSI ≥ {threshold['threshold']:g})"
    return labels


def trigger_chart(records: list[dict], labels: dict[str, str]) -> str:
    """The triggers week by week: a row per trigger (filled when it fired; hatched when it
    is switched off), and what the week did: retrained, challenger kept out, or a due
    retraining not done."""
    n = len(records)
    step = PLOT / n
    top, row_h, gap = 32, 17, 4
    rows = [*TRIGGERS, "decision"]
    body = []
    for k, name in enumerate(rows):
        y = top + k * (row_h + gap) + (6 if name == "decision" else 0)
        enabled = name == "decision" or any(r["enabled"][name] for r in records)
        label = "week's decision" if name == "decision" else labels.get(name, name) + ("" if enabled else " (off)")
        body.append(charts.text(LEFT - 8, y + 12.5, label, 11.5, "end", fill="#1d2733" if enabled else "#8a939c"))
        body.append(charts.rect(LEFT, y, PLOT, row_h, "#f1f3f5" if enabled else "url(#off)"))
    for i, r in enumerate(records):
        cells = []
        x, w = _x(i, n) + (0.5 if step >= 4 else 0), step - (1 if step >= 4 else 0)
        for k, name in enumerate(TRIGGERS):
            if r["fired"][name]:
                cells.append(charts.rect(x, top + k * (row_h + gap), w, row_h, FIRED))
        if r["outcome"]:
            cells.append(charts.rect(x, top + len(TRIGGERS) * (row_h + gap) + 6, w, row_h,
                                     OUTCOME_COLOURS[r["outcome"]]))
        height = len(rows) * (row_h + gap) + 6 - gap
        cells.append(_hover(i, n, top, height, _trigger_tooltip(r)))
        body.append(_week_group(r["week"], cells))
    axis_y = top + len(rows) * (row_h + gap) + 6
    body += _time_axis([r["week"] for r in records], axis_y)
    items = [(charts.swatch_box(FIRED), "trigger fired"),
             (charts.swatch_box(OUTCOME_COLOURS["retrained"]), "retrained")]
    if any(r["outcome"] == "kept out" for r in records):
        items.append((charts.swatch_box(OUTCOME_COLOURS["kept out"]), "challenger kept out (the serving model stayed)"))
    if any(r["outcome"] == "blocked" for r in records):
        items.append((charts.swatch_box(OUTCOME_COLOURS["blocked"]),
                      "due, not done (window too small, or no candidate fit)"))
    if not all(any(r["enabled"][name] for r in records) for name in TRIGGERS):
        items.append((charts.swatch_box("url(#off)", "#c9ced4"), "trigger switched off"))
    return _chart("triggers", axis_y + 26, body, items, "Retraining triggers week by week", legend_y=12)


def _did(r: dict) -> str:
    return {"retrained": f"retrained: {_serving(r)} serves", "kept out": r["why"] or "challenger kept out",
            "blocked": r["why"] or f"retraining not done: {r['blocked']}", None: f"kept {_serving(r)}"}[r["outcome"]]


def _trigger_tooltip(r: dict) -> str:
    parts = ["initial (no model yet) fired"] if r["fired"]["initial"] else []
    for name, why in REASONS.items():
        if r["enabled"][name]:
            parts.append(f"{name} {'fired' if r['fired'][name] else 'quiet'}: {why(r['triggers'][name])}")
    return " · ".join([r["week"], *parts, _did(r)])


def mix_chart(records: list[dict], classes: list[str]) -> str:
    """The class mix per week, 100 % stacked: of the predictions (every scored week) and of
    the outcomes (once known)."""
    n = len(records)
    step = PLOT / n
    top, strip, gap = 34, 84, 22
    colours = {c: CLASS_COLOURS[k % len(CLASS_COLOURS)] for k, c in enumerate(classes)}
    body = []
    strips = (("predicted_mix", "predicted class"), ("outcome_mix", "observed outcome"))
    for s, (key, label) in enumerate(strips):
        y0 = top + s * (strip + gap)
        body.append(charts.text(LEFT - 52, y0 + strip / 2 + 4, label, 11.5, "end", fill="#1d2733"))
        for share in (0, 0.5, 1):
            y = y0 + strip - share * strip
            body.append(charts.line(LEFT - 4, y, LEFT, y, "#9aa3ad"))
            body.append(charts.text(LEFT - 7, y + 4, f"{share:.0%}", 10.5, "end", fill="#4a5560"))
        body.append(charts.rect(LEFT, y0, PLOT, strip, "#f6f7f9"))
    for i, r in enumerate(records):
        cells = []
        x, w = _x(i, n), step - (0.6 if step >= 4 else 0)
        for s, (key, _) in enumerate(strips):
            y0 = top + s * (strip + gap)
            mix = r[key]
            if not mix or all(v is None for v in mix.values()):
                if key == "outcome_mix" and not r["evaluated"]:
                    cells.append(charts.rect(x, y0, w, strip, "url(#awaiting)"))
                continue
            bottom = y0 + strip
            for cls in classes:
                h = (mix.get(cls) or 0) * strip
                if h > 0:
                    cells.append(charts.rect(x, bottom - h, w, h, colours[cls]))
                    bottom -= h
        tip = (f"{r['week']} · predicted: " + _mix_text(r["predicted_mix"], classes)
               + " · observed: " + (_mix_text(r["outcome_mix"], classes) if r["outcome_mix"] else
                                    "awaiting outcomes" if not r["evaluated"] else "no outcome"))
        cells.append(_hover(i, n, top, 2 * strip + gap, tip))
        body.append(_week_group(r["week"], cells))
    axis_y = top + 2 * strip + gap + 6
    body += _time_axis([r["week"] for r in records], axis_y)
    items = [(charts.swatch_box(colours[c]), c) for c in classes]
    if any(not r["evaluated"] for r in records):
        items.append((charts.swatch_box("url(#awaiting)", "#c9ced4"), "awaiting outcomes"))
    body.append(charts.text(LEFT - 8, 18, "share of the week's applications", 11, "end", fill="#4a5560"))
    return _chart("class-mix", axis_y + 26, body, items, "Class mix of predictions and outcomes per week")


def _mix_text(mix: dict | None, classes: list[str]) -> str:
    if not mix or all(v is None for v in mix.values()):
        return "no application"
    return ", ".join(f"{c} {_pct(mix.get(c))}" for c in classes)


def psi_colour(value: float | None) -> str:
    """The heat map's colour of a PSI value (a pattern for no value)."""
    if value is None:
        return NO_VALUE
    value = max(0.0, value)
    for (a, ca), (b, cb) in zip(PSI_STOPS, PSI_STOPS[1:]):
        if value <= b:
            t = (value - a) / (b - a)
            return "#" + "".join(f"{round(int(ca[k:k + 2], 16) * (1 - t) + int(cb[k:k + 2], 16) * t):02x}"
                                 for k in (1, 3, 5))
    return PSI_STOPS[-1][1]


def drift_chart(records: list[dict]) -> str:
    """PSI of every feature (rows, the most shifted first) and of the score per week,
    against the serving model's training rows; retrainings as thin lines (PSI is measured
    against the new model's rows from then on)."""
    n = len(records)
    step = PLOT / n
    features = list(dict.fromkeys(name for r in records for name in r["psi"]))
    peak = {f: max((r["psi"].get(f) for r in records if r["psi"].get(f) is not None), default=-1.0) for f in features}
    features.sort(key=lambda f: -peak[f])
    rows = [*features, None]  # None: the score
    row_h = 14 if len(rows) <= 30 else 10
    size = 11 if row_h >= 14 else 9
    top = 48
    labels = [charts.wrap("score (P of the first class)" if name is None else name, LEFT - 14, size) for name in rows]
    ys, hs = [], [row_h * len(lines) for lines in labels]  # a long name wraps: its row is as tall as its lines
    for k, name in enumerate(rows):
        ys.append((ys[-1] + hs[k - 1] if ys else top) + (6 if name is None else 0))
    body = []
    for name, y, lines in zip(rows, ys, labels):
        strong = name is not None and peak[name] >= 0.25
        body.append(f"<g><title>{escape(name or 'score')}</title>" + "".join(
            charts.text(LEFT - 8, y + (j + 1) * row_h - 3.5, line, size, "end", fill="#8a2a05" if strong else "#1d2733",
                  font_weight="600" if strong else "400") for j, line in enumerate(lines)) + "</g>")
    w = step + 0.4  # each column a little under the next: no hairline gaps
    bottom = ys[-1] + hs[-1]
    for i, r in enumerate(records):
        cells = [charts.rect(_x(i, n), y, w, h, psi_colour(r["score_psi"] if name is None else r["psi"].get(name)))
                 for name, y, h in zip(rows, ys, hs)]
        top3 = sorted(((v, f) for f, v in r["psi"].items() if v is not None), reverse=True)[:3]
        tip = (f"{r['week']} · against the training rows of {_serving(r)} · "
               + ", ".join(f"{f} {v:.3f}" for v, f in top3) + f" · score {_f(r['score_psi'])}" + _drift_window_text(r))
        cells.append(_hover(i, n, top, bottom - top, tip))
        body.append(_week_group(r["week"], cells))
    for i, r in enumerate(records):
        if r["retrained"] and i:
            body.append(charts.line(_x(i, n), top - 4, _x(i, n), bottom + 2, "#2b2f33", 0.8, "3 2"))
    axis_y = bottom + 6
    body += _time_axis([r["week"] for r in records], axis_y)
    body += _psi_legend(LEFT, 12)
    return charts.svg("drift", WIDTH, axis_y + 26, body, "Population stability index of every feature per week")


def _drift_window_text(r: dict) -> str:
    window = r["drift_window"]
    if not window:
        return ""
    head = f" · {window_text(window.get('weeks'), window.get('rows'))}"
    if not window.get("judged"):
        return f"{head}: not judged: {window.get('why_not')}"
    moved = [f for f, t in (window.get("features") or {}).items() if t.get("moved")]
    return f"{head}: moved (significant and ≥ the floor): {', '.join(moved) or 'none'}"


def _psi_legend(x: float, y: float) -> list[str]:
    """The colour scale: a segment per pair of stops, the usual levels named."""
    out = [charts.text(x, y + 12, "PSI", 11.5, font_weight="600")]
    x += 30
    seg = 70
    for k, ((a, ca), (b, cb)) in enumerate(zip(PSI_STOPS, PSI_STOPS[1:])):
        out.append(f'<linearGradient id="psi-{k}"><stop offset="0" stop-color="{ca}"/><stop offset="1" stop-color="{cb}"/>'
                   f'</linearGradient>')
        out.append(charts.rect(x + k * seg, y + 2, seg, 12, f"url(#psi-{k})", stroke="#c9ced4", stroke_width="0.5"))
        out.append(charts.line(x + k * seg, y + 2, x + k * seg, y + 18, "#4a5560"))
        out.append(charts.text(x + k * seg, y + 29, f"{a:g}", 10.5, "middle", fill="#4a5560"))
    end = x + (len(PSI_STOPS) - 1) * seg
    out.append(charts.line(end, y + 2, end, y + 18, "#4a5560"))
    out.append(charts.text(end, y + 29, f"≥ {PSI_STOPS[-1][0]:g}", 10.5, "middle", fill="#4a5560"))
    out.append(charts.text(end + 18, y + 12, "0.1: moderate shift · 0.25: significant shift", 11, fill="#4a5560"))
    note = end + 18 + charts.text_width("0.1: moderate shift · 0.25: significant shift", 11) + 20
    out.append(charts.rect(note, y + 2, 14, 12, NO_VALUE, stroke="#c9ced4"))
    out.append(charts.text(note + 20, y + 12, "no value", 11, fill="#4a5560"))
    return out


def calibration_chart(calibration: dict[str, list[dict]], classes: list[str]) -> str:
    """Reliability diagram: per class, the observed rate against the mean predicted
    probability of each probability bin (dot area: the bin's applications)."""
    size, left, top = 340, 64, 14
    rows_of_legend = 2
    width, height = left + size + 16, top + size + 52 + rows_of_legend * 20
    colours = {c: CLASS_COLOURS[k % len(CLASS_COLOURS)] for k, c in enumerate(classes)}

    def px(v: float) -> float:
        return left + v * size

    def py(v: float) -> float:
        return top + size - v * size

    body = [charts.rect(left, top, size, size, "#fbfbfc", stroke="#c9ced4")]
    for k in range(0, 11, 2):
        v = k / 10
        body += [charts.line(px(v), top, px(v), top + size, "#eceef1"),
                 charts.line(left, py(v), left + size, py(v), "#eceef1"),
                 charts.text(px(v), top + size + 15, f"{v:.1f}", 10.5, "middle", fill="#4a5560"),
                 charts.text(left - 6, py(v) + 4, f"{v:.1f}", 10.5, "end", fill="#4a5560")]
    body.append(charts.line(px(0), py(0), px(1), py(1), "#8a939c", 1.2, "5 4"))
    body.append(charts.text(left + size / 2, top + size + 36, "mean predicted probability in the bin", 12, "middle",
                      fill="#1d2733"))
    body.append(charts.text(left - 40, top + size / 2, "observed rate in the bin", 12, "middle", fill="#1d2733",
                      transform=f"rotate(-90 {charts.coord(left - 40)} {charts.coord(top + size / 2)})"))
    most = max((b["count"] for table in calibration.values() for b in table), default=1)
    shown = [c for c in classes if calibration.get(c)] + [c for c in calibration if c not in classes]
    for cls in shown:
        colour = colours.get(cls, "#000")
        table = calibration[cls]
        points = " ".join(f"{charts.coord(px(b['mean_predicted']))},{charts.coord(py(b['observed_rate']))}"
                          for b in table)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        for b in table:
            r = 2.5 + 6 * math.sqrt(b["count"] / most)
            tip = (f"{cls}, probabilities {b['bin'][0]:.1f}–{b['bin'][1]:.1f}: {b['count']} applications, "
                   f"mean predicted {b['mean_predicted']:.3f}, observed {b['observed_rate']:.3f}")
            body.append(f'<circle cx="{charts.coord(px(b["mean_predicted"]))}" '
                        f'cy="{charts.coord(py(b["observed_rate"]))}" r="{charts.coord(r)}" fill="{colour}" '
                        f'fill-opacity="0.55" stroke="{colour}">{charts.title(tip)}</circle>')
    y0 = top + size + 62  # the legend under the plot, two rows
    items = [(charts.swatch_line(colours.get(cls, "#000"), 2.2) + charts.circle(8, 0, 4, colours.get(cls, "#000")),
              f"P({cls})") for cls in shown]
    legend, _, rows = charts.legend(left - 40, y0, items, width)
    y0 += (rows - 1) * charts.LEGEND_ROW
    height += (rows - 1) * charts.LEGEND_ROW
    body += legend
    calibrated = [(charts.swatch_line("#8a939c", 1.2, "5 4"), "perfectly calibrated")]
    legend, end, _ = charts.legend(left - 40, y0 + 20, calibrated, width)
    body += legend + [charts.text(end, y0 + 24, "dot area: applications in the bin", 11.5, fill="#4a5560")]
    return charts.svg("calibration", width, height, body, "Calibration of the latest model")


# ---------------------------------------------------------------- the page

DEFS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="no-value" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#e4e7eb"/><line x1="0" y1="0" x2="0" y2="6" stroke="#aeb5bd" stroke-width="2"/>'
    '</pattern>'
    '<pattern id="awaiting" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#eceef1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c9ced4" stroke-width="2"/>'
    '</pattern>'
    '<pattern id="off" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="8" height="8" fill="#f7f8f9"/><line x1="0" y1="0" x2="0" y2="8" stroke="#e1e4e8" stroke-width="3"/>'
    '</pattern></defs></svg>'
)


def _cards(records: list[dict], summary: dict) -> str:
    judged = [r for r in records if r["judged"]]
    mean_f1 = summary.get("mean_macro_f1")
    if mean_f1 is None and judged:
        mean_f1 = sum(r["macro_f1"] for r in judged) / len(judged)
    pooled = [r for r in records if r["pooled"] and r["pooled"]["judged"]]
    newest = pooled[-1]["pooled"] if pooled else None
    lowest = min(pooled, key=lambda r: r["pooled"]["macro_f1"]["value"]) if pooled else None
    retrains = sum(r["retrained"] for r in records)
    kept_out = sum(r["outcome"] == "kept out" for r in records)
    last = records[-1]
    since = next(r["week"] for r in records if r["version"] == last["version"] and r["model_type"] == last["model_type"])
    awaiting = sum(not r["evaluated"] for r in records)
    too_small = sum(bool(r["too_small"]) for r in records)
    cards = [
        ("", f"{len(records)}", f"weeks, {records[0]['week']} … {last['week']}"),
        ("", f"{retrains}", "retrainings (the first week's included)"
         + (f"; {kept_out} challengers kept out" if kept_out else "")),
        ("", interval_text(newest["macro_f1"]) if newest else "n/a",
         f"macro F1, newest judged: {window_text(newest['weeks'], newest['rows'])}" if newest else
         "macro F1: no window judged yet"),
        ("", interval_text(newest["auc"]) if newest else "n/a", "AUC, same window"),
        ("alert", interval_text(lowest["pooled"]["macro_f1"]) if lowest else "n/a",
         f"lowest pooled macro F1 (week {lowest['week']}, "
         f"{window_text(lowest['pooled']['weeks'], lowest['pooled']['rows'])})"
         if lowest else "lowest pooled macro F1"),
        ("", _serving(last), f"serving now, since {since}"),
    ]
    if mean_f1 is not None:
        cards.insert(5, ("", _f(mean_f1, 4), f"mean macro F1 of the {len(judged)} weeks judged alone"))
    if awaiting or too_small:
        cards.append(("", f"{awaiting} / {too_small}", "weeks awaiting outcomes / too small to judge alone"))
    return '<div class="cards">' + "".join(
        f'<div class="card {kind}"><b>{_card_value(value)}</b><span>{escape(text)}</span></div>'
        for kind, value, text in cards) + "</div>"


def _card_value(value: str) -> str:
    # an interval in smaller type under its value: "0.806 [0.759, 0.843]"
    head, bracket, rest = value.partition(" [")
    return escape(head) + (f"<small>[{escape(rest)}</small>" if bracket else "")


def _history_table(records: list[dict]) -> str:
    """One row per model that served: its weeks, why it was trained, its validation and weekly scores."""
    rows, current = [], None
    for r in records:
        if current is None or (r["version"], r["model_type"]) != (current["version"], current["model_type"]):
            current = {"version": r["version"], "model_type": r["model_type"], "weeks": [], "reasons": r["reasons"],
                       "retrained": r["retrained"], "validation": r["validation_f1"], "f1": [], "pooled": None}
            rows.append(current)
        current["weeks"].append(r["week"])
        if r["judged"]:
            current["f1"].append(r["macro_f1"])
        if r["pooled"] and r["pooled"]["judged"]:
            current["pooled"] = r["pooled"]
    body = []
    for row in rows:
        why = ", ".join(row["reasons"]) if row["retrained"] else "(served before the chain)"
        f1 = row["f1"]
        body.append(
            f"<tr><td>v{escape(row['version'])}</td><td class=text>{escape(row['model_type'])}</td>"
            f"<td>{row['weeks'][0]}</td><td>{row['weeks'][-1]}</td><td>{len(row['weeks'])}</td>"
            f"<td class=text>{escape(why)}</td><td>{_f(row['validation'])}</td>"
            f"<td>{_f(sum(f1) / len(f1)) if f1 else 'n/a'}</td><td>{_f(min(f1)) if f1 else 'n/a'}</td>"
            + (f"<td>{interval_text(row['pooled']['macro_f1'])}</td><td class=text>"
               f"{escape(window_text(row['pooled']['weeks'], row['pooled']['rows']))}</td>" if row["pooled"] else
               "<td>n/a</td><td></td>") + "</tr>"
        )
    return ("<table><thead><tr><th>version</th><th>type</th><th>first week</th><th>last week</th><th>weeks</th>"
            "<th>trained because</th><th>validation macro F1</th><th>mean weekly macro F1</th>"
            "<th>worst weekly macro F1</th><th>newest pooled macro F1</th><th>its window</th></tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def _feature_table(trigger: dict) -> str:
    """The drift trigger's pooled features, the nearest to moving first: PSI, critical value
    and verdict, folded."""
    inputs, floor = trigger.get("inputs") or {}, (trigger.get("threshold") or {}).get("threshold")
    features = inputs.get("features") or {}
    if not features:
        return ""
    over, seen = set(inputs.get("features_over") or []), set(inputs.get("already_seen") or [])

    def ratio(name: str) -> float:
        t = features[name]
        return (t.get("psi") or 0) / t["critical"] if t.get("critical") else -1.0

    rows = []
    for name in sorted(features, key=ratio, reverse=True):
        t = features[name]
        verdict = ("moved" if name in over else "seen" if name in seen else
                   f"significant, < {floor}" if t.get("significant") else "")
        rows.append(f"<tr><td class=text>{_breakable(name)}</td><td>{_f(_number(t.get('psi')))}</td>"
                    f"<td>{_f(_number(t.get('critical')))}</td><td class=text>{escape(verdict)}</td></tr>")
    return (f"<details><summary>{len(features)} features: PSI vs critical value</summary><table class=psi><thead><tr>"
            f"<th>feature</th><th>PSI</th><th>critical</th><th>verdict</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></details>")


def _breakable(text: str) -> str:
    # long feature names wrap after their underscores (<wbr>), never inside a word unless they must
    return escape(text).replace("_", "_<wbr>")


def _decision_row(r: dict, detail: bool = True) -> str:
    did = _did(r) + (f" ({', '.join(r['reasons'])})" if r["reasons"] else "")
    if r["gate"].get("why") and r["outcome"] != "kept out":  # kept out: the tracker's reason is the gate's
        did += f"; challenger gate: {r['gate']['why']}"
    cells = [f"<td>{r['week']}</td>", f'<td class="reason">{escape(did)}</td>']
    for name, why in REASONS.items():
        trigger = r["triggers"].get(name) or {}
        if not trigger.get("enabled"):
            cells.append('<td class="reason">off</td>')
            continue
        fired = '<b class="fired">fired:</b> ' if r["fired"][name] else ""
        folded = _feature_table(trigger) if name == "drift" and detail else ""  # the quiet weeks: the sentence only
        cells.append(f'<td class="reason">{fired}{_breakable(why(trigger))}{folded}</td>')
    return "<tr>" + "".join(cells) + "</tr>"


def _decisions_table(records: list[dict]) -> str:
    """A row per week where a trigger fired or the decision did something, then the quiet
    weeks, folded: what the week did and why each trigger fired or not."""
    head = f"<thead><tr><th>week</th><th>decision</th>{''.join(f'<th>{name}</th>' for name in REASONS)}</tr></thead>"
    busy = [r for r in records if r["outcome"] or any(r["fired"].values())]
    quiet = [r for r in records if r not in busy]
    html = f'<table id="decisions-table">{head}<tbody>{"".join(map(_decision_row, busy))}</tbody></table>'
    if quiet:
        html += (f"<details><summary>the {len(quiet)} week(s) where no trigger fired</summary>"
                 f'<table id="quiet-table">{head}<tbody>{"".join(_decision_row(r, detail=False) for r in quiet)}</tbody></table></details>')
    return html


def _estimate_section(records: list[dict], summary: dict) -> str:
    """Estimated beside realized: how far the estimates were from the outcomes once they
    landed, and the weeks still awaiting theirs, each with its estimate."""
    pending = [r for r in records if not r["evaluated"] and r["estimated"]["macro_f1"] is not None]
    checked = summary.get("estimated_weeks") or 0
    if not pending and not checked:
        return ""
    sub = ("Each week is scored before its outcomes are known; its macro F1 and AUC are then ESTIMATED from the "
           "model's calibrated probabilities (confidence-based performance estimation: the expected confusion matrix "
           "at the model's decision), with the interval where the realized figure should fall. Once the outcomes land, "
           "the evaluation records the realized figure beside it. The estimate cannot see a change of how outcomes "
           "follow from unchanged applications (concept drift): only the outcomes show that.")
    parts = [f'<section id="estimate-section"><h2>Estimated and realized performance</h2><p class="sub">{escape(sub)}</p>']
    if checked:
        mae, coverage = summary.get("estimate_mae_macro_f1"), summary.get("estimate_coverage")
        parts.append(f'<p id="estimate-check">Over the {checked} week(s) whose outcomes landed (judged alone): mean '
                     f"absolute error of the estimated macro F1 {_f(mae)}; the interval held the realized figure in "
                     f"{_pct(coverage)} of them.</p>")
    if pending:
        rows = "".join(
            f"<tr><td>{escape(r['week'])}</td><td>{escape(_serving(r))}</td><td>{_f(r['estimated']['macro_f1'])}</td>"
            f"<td>{_f(r['estimated']['low'])} – {_f(r['estimated']['high'])}</td><td>{_f(r['estimated']['auc'])}</td>"
            f"<td>{r['applications'] if r['applications'] is not None else ''}</td></tr>" for r in pending)
        parts.append('<table id="estimate-table"><thead><tr><th>week (outcomes pending)</th><th>serving</th>'
                     "<th>ESTIMATED macro F1</th><th>its interval</th><th>ESTIMATED AUC</th><th>applications</th>"
                     f"</tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts) + "</section>"


def _calibration_check_text(tracker: dict | None) -> str:
    """The serving model's calibration on its validation weeks: raw and calibrated."""
    check = (tracker or {}).get("calibration_check")
    if not check:
        return ""
    raw, cal = check["raw"], check["calibrated"]
    return (f" Calibrated on its validation weeks (Platt scaling per class; the predicted class is unchanged): "
            f"calibration error (ECE) {_f(raw['ece'])} raw → {_f(cal['ece'])} calibrated, log loss "
            f"{_f(raw['log_loss'])} → {_f(cal['log_loss'])}, on those rows. The chart and table: its calibrated "
            f"probabilities against the outcomes of the weeks it served.")


def _calibration_section(records: list[dict], evaluations: dict[str, dict], classes: list[str],
                         trackers: list[dict] = ()) -> str:
    version, weeks = calibration_weeks(records)
    head = "<h2>Calibration of the latest model</h2>"
    if version is None:
        return f'<section id="calibration-section">{head}<p class="sub">No week has been judged yet: ' \
               "the calibration shows once outcomes are known.</p></section>"
    model_type = next(r["model_type"] for r in records if r["version"] == version)
    pooled = pooled_calibration(evaluations[w] for w in weeks)
    span = weeks[0] if len(weeks) == 1 else f"{weeks[0]} … {weeks[-1]}"
    binary = any("event" in (evaluations[w].get("risk") or {}) for w in weeks)
    sub = (f"v{version} {model_type}, pooled over the {len(weeks)} week(s) with outcomes it served ({span}): "
           "applications "
           "binned by predicted probability (0.1 wide); a well calibrated model's dots lie on the diagonal. "
           + ("Binary problem: the probability of the event, the second class. " if binary else "")
           + "Below the diagonal: the model over-predicts the class."
           + _calibration_check_text(next((t for t in trackers if str(t["model_version"]) == version), None)))
    rows = []
    for cls in [c for c in classes if c in pooled] + [c for c in pooled if c not in classes]:
        table = pooled[cls]
        n = sum(b["count"] for b in table)
        ece = sum(b["count"] * abs(b["mean_predicted"] - b["observed_rate"]) for b in table) / n if n else None
        mean_p = sum(b["count"] * b["mean_predicted"] for b in table) / n if n else None
        observed = sum(b["count"] * b["observed_rate"] for b in table) / n if n else None
        rows.append(f"<tr><td>{escape(cls)}</td><td>{n}</td><td>{_f(mean_p)}</td><td>{_f(observed)}</td>"
                    f"<td>{_f(ece)}</td></tr>")
    table = ("<table><thead><tr><th>class</th><th>applications</th><th>mean predicted</th><th>observed rate</th>"
             "<th>calibration error (ECE)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return (f'<section id="calibration-section">{head}<p class="sub">{escape(sub)}</p><div class="side">'
            f"{calibration_chart(pooled, classes)}<div>{table}</div></div></section>")


# The columns shown, in order (a policy's overrides show when its name is hovered; the
# judged weeks are the same for every policy).
POLICY_COLUMNS = {
    "policy": "policy", "mean_macro_f1": "mean macro F1", "worst_macro_f1": "worst macro F1",
    "worst_week": "worst week", "mean_auc": "mean AUC", "worst_auc": "worst AUC",
    "weeks_under_floor": "weeks under the floor", "retrainings": "retrainings", "kept_out": "kept out",
    "fits": "fits", "training_seconds": "training seconds",
}


def _window_sections(evaluations: dict[str, dict], classes: list[str]) -> str:
    """The newest evidence window's gains table, segments and protected-attribute comparison
    (eval.json pooled; weekly.reporting.card draws them as on a model card)."""
    newest = next((evaluations[w] for w in sorted(evaluations, reverse=True)
                   if (evaluations[w].get("pooled") or {}).get("gains")), None)
    if newest is None:
        return ('<section id="gains-section"><h2>Gains table</h2><p class="sub">No week has been evaluated yet: the '
                "gains table, the segments and the fairness comparison show once outcomes are known.</p></section>")
    pooled = newest["pooled"]
    said = (f"The newest evidence window: {window_text(pooled['weeks'], pooled['rows'])}, version "
            f"{newest['model_version']} ({newest['model_type']}) serving; every week's is in its eval.json.")
    return card.window_html(pooled, classes[adverse_index(classes)], said)


def _policies_section(table: pd.DataFrame | None, plot_svg: str | None) -> str:
    if table is None and plot_svg is None:
        return ""
    parts = ['<section id="policies-section"><h2>Retraining policies side by side</h2>'
             '<p class="sub">Each policy of policies.yaml backfilled over the same weeks (reports/policies.csv, '
             'reports/policies.svg): weekly macro F1 and AUC over the judged weeks, weeks under the performance floor, '
             "models promoted and what their fits cost. Hover a policy for its overrides of params.yaml.</p>"]
    if table is not None:
        columns = [c for c in POLICY_COLUMNS if c in table.columns]
        head = "".join(f"<th>{escape(POLICY_COLUMNS.get(c, c))}</th>" for c in columns)
        body = []
        for row in table.to_dict("records"):
            cells = []
            for c in columns:
                v = row[c]
                text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else \
                    f"{v:.4f}" if isinstance(v, float) and c != "training_seconds" else str(v)
                if c == "policy":
                    overrides = escape(str(row.get("overrides", "")), quote=True)
                    cells.append(f'<td class="text" title="{overrides}">{escape(text)}</td>')
                else:
                    cells.append(f"<td>{escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        parts.append(f'<table id="policies-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
    if plot_svg:
        start = plot_svg.find("<svg")
        svg = plot_svg[start:] if start >= 0 else plot_svg
        if ' id="' not in svg[:svg.find(">")]:  # weekly.commands.policies names its chart; an older plot does not
            svg = svg.replace("<svg", '<svg id="policies-plot"', 1)
        parts.append(f'<div class="policies-plot" style="margin-top:12px">{svg}</div>')
    return "".join(parts) + "</section>"


def performance_floor(decisions: list[dict]) -> float | None:
    """The performance trigger's floor, from the newest decision where it is on (None: no
    floor, retrain.performance.floor null)."""
    for decision in reversed(decisions):
        trigger = decision.get("triggers", {}).get("performance", {})
        if trigger.get("enabled") and "floor" in (trigger.get("threshold") or {}):
            return _number(trigger["threshold"]["floor"])
    return None


def page(*, trackers: list[dict], decisions: list[dict], evaluations: dict[str, dict], drifts: list[dict],
         summary: dict, classes: list[str], predicted_mix: dict[str, dict] | None = None,
         policies: pd.DataFrame | None = None, policies_svg: str | None = None,
         estimates: dict[str, dict] | None = None) -> str:
    """The whole page: a header with the chain's span and key figures, then performance and
    serving model, triggers, class mix, drift heat map, calibration of the latest model,
    the serving history and, when given, the policy comparison (its table and plot)."""
    if not trackers:
        raise ValueError("the lifecycle page needs at least one week")
    records = week_records(trackers, decisions, evaluations, drifts, predicted_mix, estimates)
    first, last = records[0]["week"], records[-1]["week"]
    model_name = trackers[-1].get("model_name", "")
    floor = performance_floor(decisions)
    retrains = sum(r["retrained"] for r in records)
    floor_text = (f"The red dashed line: the performance floor {floor:g}." if floor is not None else
                  "No performance floor (retrain.performance.floor is null): the trigger watches the drop from the "
                  "model's validation score only.")
    sections = [
        ("performance-section", "Performance of the serving model",
         "Macro F1 and AUC (one-vs-rest, mean over the classes; binary: of the event) of the model serving each week, "
         "as the triggers judge it: pooled over the week's evidence window (the newest weeks, back until they hold "
         "enough outcomes), macro F1 with its interval as a band; the dots: the week alone, when large enough. "
         f"{floor_text} Vertical lines: retrainings (the new model serves from that week). The band under the plot: "
         "which model served, by registry version and type. Hover a week for its figures and the weeks pooled.",
         performance_chart(records, floor)),
        ("triggers-section", "Retraining triggers week by week",
         "Each trigger's verdict at the start of the week, from what was known then; the last row is what the week "
         "did. A filled cell: the trigger fired.",
         trigger_chart(records, trigger_labels(decisions))),
        ("decisions-section", "Why each trigger fired or not",
         "Each decision in words, from what was known at the start of the week. Performance: the serving model's "
         "newest pooled figure with its interval, below the floor or more than max_drop under its validation score "
         "beyond sampling error (one-sided at alpha). Drift: the applications pooled back to retrain.drift.min_rows; "
         "a feature moved when its PSI passes its critical value under no change and the magnitude floor, unless the "
         "model had already seen the change. The weeks where no trigger fired are folded under the table.",
         _decisions_table(records)),
        ("mix-section", "Class mix of predictions and outcomes",
         "Share of each class among the week's predictions (every scored week) and among its observed outcomes "
         "(once known).", mix_chart(records, classes)),
        ("drift-section", "Drift: population stability index (PSI) per feature",
         "PSI of the week's applications against the training rows of the model serving the week (so it falls back "
         "after a retraining, dashed lines); features ordered by their highest PSI, highlighted when it passed 0.25.",
         drift_chart(records)),
    ]
    html = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(f'Lifecycle {first} … {last}')}</title>",
        f"<style>{CSS}{card.BLOCK_CSS}</style></head><body>{DEFS}<main>",
        f"<header><p>Weekly ML lifecycle · {escape(model_name)}</p>"
        f"<h1>{escape(f'{first} … {last}: {len(records)} weeks, {retrains} retrainings')}</h1>",
        _cards(records, summary),
        "</header>",
    ]
    for section_id, title, sub, chart in sections:
        html.append(f'<section id="{section_id}"><h2>{escape(title)}</h2><p class="sub">{escape(sub)}</p>{chart}</section>')
    html.append(_estimate_section(records, summary))
    html.append(_calibration_section(records, evaluations, classes, trackers))
    html.append(_window_sections(evaluations, classes))
    html.append('<section id="history-section"><h2>Serving history</h2><p class="sub">Every model that served, '
                "the weeks it served and how it did on them.</p>" + _history_table(records) + "</section>")
    html.append(_policies_section(policies, policies_svg))
    html.append("<footer>Made from weeks/&lt;week&gt;/decision.json, tracker.json, eval.json and drift.json and "
                "reports/summary.json; self-contained, it opens offline.</footer></main></body></html>")
    return "\n".join(html) + "\n"
