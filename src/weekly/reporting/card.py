"""The model card of a registered version: one validation document for model-risk review.

Pure functions: the `card` dict the registration assembles (models/<week>/winner/card.json)
in, a string out. `html` is a self-contained page in the lifecycle page's style (its style
sheet, weekly.reporting.charts for the one chart, inline SVG): no script, style sheet, font
or image is fetched and no URL is written, so it opens offline and prints as a document.
`text` is the same content for a terminal (`weekly card VERSION`).

Both read the card through one list of sections (`sections`), so they cannot drift apart.
Every key but model_name, version and algorithm may be missing or None: a section then says
"not available" (or what None means there, e.g. no challenger: the first model of the chain).
All text from the card is escaped (a data file may have been edited). Same card, same bytes:
no clock, no randomness.
"""
from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass
from html import escape

from weekly.reporting import charts
from weekly.reporting.style import CSS

NA = "n/a"  # a figure that is not there
NOT_AVAILABLE = "not available"  # a section whose data is not there
EVENT, NON_EVENT = charts.SERIES_COLOURS[1], charts.SERIES_COLOURS[0]  # vermillion (the adverse class), blue
FLAG = "#c0392b"  # the page's alert red
TEXT_WIDTH = 100  # the terminal text's lines wrap here


# ---------------------------------------------------------------- what a section holds (read by both renderers)

@dataclass(frozen=True)
class Pairs:
    """Label: value lines."""
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """A table; `marks`: per row, "" or why it stands out ("flag": outside a band or
    flagged; "chosen": the winner), drawn highlighted in HTML (the row says it in words too)."""
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[str, ...] = ()
    table_id: str = ""


@dataclass(frozen=True)
class Note:
    """A sentence or two."""
    text: str


@dataclass(frozen=True)
class Items:
    """A bullet list."""
    items: tuple[str, ...]


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section (a segment column)."""
    text: str


@dataclass(frozen=True)
class Drawing:
    """An inline SVG: HTML only (the terminal has the table it draws)."""
    svg: str


@dataclass(frozen=True)
class Section:
    section_id: str
    title: str
    sub: str  # what the section shows, in HTML under its heading
    blocks: tuple


# ---------------------------------------------------------------- figures as text

def _number(value) -> float | None:
    """A finite number, else None (a bool, a string or NaN is not a figure)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fixed(value, digits: int = 3) -> str:
    number = _number(value)
    if number is not None:
        return f"{number:.{digits}f}"
    return NA if value is None or isinstance(value, float) else str(value)


def _signed(value, digits: int = 3) -> str:
    number = _number(value)
    return f"{number:+.{digits}f}" if number is not None else _fixed(value, digits)


def _count(value) -> str:
    number = _number(value)
    if number is not None and number == int(number):
        return f"{int(number):,}"
    return _fixed(value)


def _pct(value, digits: int = 1) -> str:
    number = _number(value)
    return f"{100 * number:.{digits}f} %" if number is not None else _fixed(value)


def _yes(value, yes: str = "yes", no: str = "no") -> str:
    return yes if value is True else no if value is False else NA if value is None else str(value)


def _words(value) -> str:
    if value is None:
        return NA
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "none"
    return str(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _interval(figure, pct: bool = False, digits: int = 3) -> str:
    """'0.830 [0.810, 0.850]' or, as rates, '20.0 % [18.0, 22.0]'; the value alone when it
    has no interval; a bare number is a value without one."""
    if not isinstance(figure, dict):
        figure = {"value": figure}
    value, low, high = (figure.get(k) for k in ("value", "low", "high"))
    if pct:
        head = _pct(value)
        bounds = (f"{100 * _number(low):.1f}", f"{100 * _number(high):.1f}") \
            if _number(low) is not None and _number(high) is not None else None
    else:
        head = _fixed(value, digits)
        bounds = (_fixed(low, digits), _fixed(high, digits)) \
            if _number(low) is not None and _number(high) is not None else None
    return f"{head} [{bounds[0]}, {bounds[1]}]" if bounds and head != NA else head


def _confidence(value) -> str:
    number = _number(value)
    return f"{100 * number:g} %" if number is not None else NA


def _setting(value) -> str:
    # a hyperparameter as the configuration spells it: 0.05, true, null, [1, 2]
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def title(card: dict) -> str:
    """'Model card: credit-scoring version 7'."""
    return f"Model card: {card.get('model_name') or NA} version {card.get('version') or NA}"


# ---------------------------------------------------------------- the sections

def _summary(card: dict) -> tuple:
    classes = card.get("classes")
    adverse = card.get("adverse_class")
    threshold = card.get("threshold")
    if _number(threshold) is not None:
        decision = _fixed(threshold)
    elif threshold is None and isinstance(classes, list) and len(classes) > 2:
        decision = "none: the most probable class is predicted"
    else:
        decision = _words(threshold) if threshold is not None else NA
    sha = card.get("model_sha256")
    return (Pairs((
        ("algorithm", _words(card.get("algorithm"))),
        ("registered week", _words(card.get("week"))),
        ("model URI", _words(card.get("model_uri"))),
        ("model sha256", f"{sha[:12]}..." if isinstance(sha, str) and len(sha) > 12 else _words(sha)),
        ("classes", _words(classes)),
        ("adverse class", _words(adverse)),
        ("decision threshold", decision),
    )),)


def _training(card: dict) -> tuple:
    t = card.get("training")
    if not isinstance(t, dict) or not t:
        return (Note(NOT_AVAILABLE),)
    first, last = t.get("first_week"), t.get("last_week")
    window = f"{first} .. {last}" if first and last else NA
    valid = t.get("valid_weeks")
    half_life = t.get("recency_half_life_weeks")
    return (Pairs((
        ("training window", window),
        ("weeks", _count(t.get("weeks"))),
        ("validation weeks", _words(valid)),
        ("training rows", _count(t.get("train_rows"))),
        ("validation rows", _count(t.get("valid_rows"))),
        ("refit rows", _count(t.get("refit_rows"))),
        ("recency half-life", f"{_words(half_life)} weeks" if half_life is not None else "none configured"),
        ("refit on the whole window", _yes(t.get("refit"))),
        ("seed", _words(t.get("seed"))),
    )),)


def _features(card: dict) -> tuple:
    f = card.get("features")
    if not isinstance(f, dict) or not f:
        return (Note(NOT_AVAILABLE),)
    pairs = []
    for kind in ("numeric", "categorical"):
        names = f.get(kind)
        count = f" ({len(names)})" if isinstance(names, list) else ""
        pairs.append((kind + count, _words(names)))
    return (Pairs(tuple(pairs)),)


def _hyperparameters(card: dict) -> tuple:
    h = card.get("hyperparameters")
    if not isinstance(h, dict) or not h:
        return (Note(NOT_AVAILABLE),)
    return (Table(("setting", "value"), tuple((str(k), _setting(v)) for k, v in h.items()), table_id="settings-table"),)


def _ordered(names, first) -> list:
    # the card's class order where it has one, then any other
    first = [c for c in first if c in names] if isinstance(first, list) else []
    return first + [c for c in names if c not in first]


def _validation(card: dict) -> tuple:
    v = card.get("validation")
    if not isinstance(v, dict) or not v:
        return (Note(NOT_AVAILABLE),)
    level = _confidence(v.get("confidence"))
    blocks = [Pairs((
        ("rows", _count(v.get("rows"))),
        ("confidence of the intervals", level),
        ("macro F1", _interval(v.get("macro_f1"))),
        ("AUC", _interval(v.get("auc"))),
        ("accuracy", _fixed(v.get("accuracy"))),
        ("log loss", _fixed(v.get("log_loss"))),
    ))]
    per_class = _dict(v.get("per_class"))
    if per_class:
        adverse = card.get("adverse_class")
        rows = []
        for cls in _ordered(list(per_class), card.get("classes")):
            m = _dict(per_class[cls])
            rows.append((f"{cls} (adverse)" if cls == adverse else str(cls), _fixed(m.get("precision")),
                         _fixed(m.get("recall")), _fixed(m.get("f1")), _count(m.get("support"))))
        blocks.append(Table(("class", "precision", "recall", "F1", "support"), tuple(rows), table_id="per-class-table"))
    else:
        blocks.append(Note(f"per-class figures: {NOT_AVAILABLE}"))
    return tuple(blocks)


def _calibration(card: dict) -> tuple:
    c = card.get("calibration")
    if not isinstance(c, dict) or not c:
        return (Note(NOT_AVAILABLE),)
    raw, calibrated = _dict(c.get("raw")), _dict(c.get("calibrated"))
    return (Pairs((
        ("method", _words(c.get("method"))),
        ("log loss, raw -> calibrated", f"{_fixed(raw.get('log_loss'))} -> {_fixed(calibrated.get('log_loss'))}"),
        ("calibration error (ECE), raw -> calibrated", f"{_fixed(raw.get('ece'))} -> {_fixed(calibrated.get('ece'))}"),
    )),)


def _scores(band: dict) -> str:
    low, high = _number(band.get("score_low")), _number(band.get("score_high"))
    if low is None and high is None:
        return NA
    if high is None:
        return f"from {low:.3f}"
    if low is None:
        return f"below {high:.3f}"
    return f"{low:.3f} .. {high:.3f}"


def _bands(gains: dict) -> list[dict]:
    return [b for b in gains.get("bands") or [] if isinstance(b, dict)]


def _gains(card: dict) -> tuple:
    g = card.get("gains")
    if not isinstance(g, dict) or not g:
        return (Note(NOT_AVAILABLE),)
    bands = _bands(g)
    flagged = g.get("flagged_bands")
    ks_band = g.get("ks_band")
    blocks = [Pairs((
        ("rows", _count(g.get("rows"))),
        ("events", _count(g.get("events"))),
        ("event rate", _interval(g.get("event_rate"), pct=True)),
        ("KS", _fixed(g.get("ks")) + (f" (at band {ks_band})" if ks_band is not None else "")),
        ("confidence of the intervals", _confidence(g.get("confidence"))),
        ("bands flagged", _words(flagged) if flagged is not None else NA),
    ))]
    if g.get("test"):
        blocks.append(Note(str(g["test"])))
    if not bands:
        blocks.append(Note(f"bands: {NOT_AVAILABLE}"))
        return tuple(blocks)
    blocks.append(Drawing(gains_chart(g, card.get("adverse_class"))))
    marks = tuple("flag" if b.get("flagged") is True else "" for b in bands)
    blocks.append(Table(
        ("band", "scores", "rows", "share", "events", "non-events", "event rate [interval]", "cum. events",
         "cum. non-events", "KS", "lift"),
        tuple((_words(b.get("band")), _scores(b), _count(b.get("rows")), _pct(b.get("share")), _count(b.get("events")),
               _count(b.get("non_events")), _interval(b.get("event_rate"), pct=True), _pct(b.get("cumulative_events")),
               _pct(b.get("cumulative_non_events")), _fixed(b.get("ks")), _fixed(b.get("lift"), 2)) for b in bands),
        marks, "gains-table"))
    # each band checked against the validation weeks', when the card has the check
    if any(b.get(k) is not None for b in bands for k in ("validation_rows", "validation_event_rate", "p_value")):
        adjusted = any("p_adjusted" in b for b in bands)  # weekly.lifecycle.gains: Holm-corrected across the bands
        blocks.append(Table(
            ("band", "event rate", "validation rows", "validation event rate", "z", "p-value")
            + (("adjusted p-value",) if adjusted else ()) + ("flagged",),
            tuple((_words(b.get("band")), _pct(_dict(b.get("event_rate")).get("value")),
                   _count(b.get("validation_rows")), _pct(b.get("validation_event_rate")), _fixed(b.get("z"), 2),
                   _fixed(b.get("p_value"))) + ((_fixed(b.get("p_adjusted")),) if adjusted else ())
                  + (_yes(b.get("flagged")),) for b in bands),
            marks, "gains-check-table"))
    return tuple(blocks)


def _segments(card: dict) -> tuple:
    if "segments" not in card:
        return (Note(NOT_AVAILABLE),)
    s = card["segments"]
    if not isinstance(s, dict) or not s:
        return (Note("none configured" if s in (None, {}) else NOT_AVAILABLE),)
    blocks = []
    for column, table in s.items():
        # {"groups": {...}} as the card nests it; a bare {group: figures} (fairness.segment_figures) reads the same
        groups = _dict(_dict(table).get("groups", table))
        blocks.append(Heading(f"by {column}"))
        if not groups:
            blocks.append(Note(f"groups: {NOT_AVAILABLE}"))
            continue
        named = [(str(name), _dict(g)) for name, g in groups.items()]
        blocks.append(Table(
            ("group", "rows", "event rate [interval]", "approval rate [interval]", "macro F1 [interval]",
             "AUC [interval]"),
            tuple((name, _count(g.get("rows")), _interval(g.get("event_rate"), pct=True),
                   _interval(g.get("approval_rate"), pct=True), _interval(g.get("macro_f1")), _interval(g.get("auc")))
                  for name, g in named),
            table_id=f"segment-{_slug(column)}"))
        # the PSI of each group's score bands against its training rows (weekly.lifecycle.fairness), when there
        if any(g.get("psi") is not None for _, g in named):
            blocks.append(Table(
                ("group", "training rows", "score PSI", "critical PSI", "moved"),
                tuple((name, _count(g.get("training_rows")), _fixed(g.get("psi")), _fixed(g.get("psi_critical")),
                       _yes(g.get("psi_moved"))) for name, g in named),
                tuple("flag" if g.get("psi_moved") is True else "" for _, g in named),
                f"segment-{_slug(column)}-psi"))
    return tuple(blocks)


def _slug(name) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "column"


def _fairness(card: dict) -> tuple:
    if "fairness" not in card:
        return (Note(NOT_AVAILABLE),)
    f = card["fairness"]
    if not isinstance(f, dict) or not f:
        return (Note("none configured: no protected attribute" if f in (None, {}) else NOT_AVAILABLE),)
    band = f.get("band")
    band_text = (f"{_fixed(band[0], 2)} .. {_fixed(band[1], 2)}"
                 if isinstance(band, (list, tuple)) and len(band) == 2 else _words(band))
    overall = _dict(f.get("overall"))
    # weekly.lifecycle.fairness.compare names the overall rates as the groups' are; fpr / fnr as short names
    fpr = overall.get("false_positive_rate", overall.get("fpr"))
    fnr = overall.get("false_negative_rate", overall.get("fnr"))
    outside = f.get("groups_outside")
    blocks = [Pairs((
        ("protected attribute", _words(f.get("column"))),
        ("band of the approval ratio", band_text),
        ("confidence of the intervals", _confidence(f.get("confidence"))),
        ("overall approval rate", _interval(overall.get("approval_rate"), pct=True)),
        ("overall false positive rate", _interval(fpr, pct=True)),
        ("overall false negative rate", _interval(fnr, pct=True)),
        ("approval ratio between groups", _fixed(f.get("approval_ratio_between"))),
        ("equalized-odds difference", _fixed(f.get("equalized_odds_difference"))),
        ("groups outside the band", _words(outside) if outside is not None else NA),
    ))]
    if f.get("interval"):
        blocks.append(Note(f"Interval of the ratio: {f['interval']}"))
    groups = _dict(f.get("groups"))
    if not groups:
        blocks.append(Note(f"groups: {NOT_AVAILABLE}"))
        return tuple(blocks)
    named_outside = {str(g) for g in outside} if isinstance(outside, list) else set()
    named = [(str(name), _dict(g)) for name, g in groups.items()]
    flagged = [g.get("outside_band") is True or name in named_outside for name, g in named]
    marks = tuple("flag" if out else "" for out in flagged)
    blocks.append(Table(
        ("group", "rows", "approval rate [interval]", "ratio to overall [interval]", "band"),
        tuple((name, _count(g.get("rows")), _interval(g.get("approval_rate"), pct=True),
               _interval(g.get("approval_ratio"), digits=2),
               "OUTSIDE" if out else _yes(g.get("outside_band"), no="within"))
              for (name, g), out in zip(named, flagged)),
        marks, "fairness-table"))
    blocks.append(Table(
        ("group", "false positive rate [interval]", "false negative rate [interval]", "FPR difference",
         "FNR difference"),
        tuple((name, _interval(g.get("false_positive_rate"), pct=True),
               _interval(g.get("false_negative_rate"), pct=True),
               _signed(g.get("fpr_difference")), _signed(g.get("fnr_difference"))) for name, g in named),
        marks, "fairness-errors-table"))
    return tuple(blocks)


def _challenger(card: dict) -> tuple:
    if "challenger" not in card:
        return (Note(NOT_AVAILABLE),)
    c = card["challenger"]
    if c is None:
        return (Note("First model of the chain: there was no serving version to compare with, so no gate applied."),)
    if not isinstance(c, dict):
        return (Note(_words(c)),)
    interval = c.get("difference_interval")
    difference = _signed(c.get("difference"))
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and difference != NA:
        difference += f" [{_signed(interval[0])}, {_signed(interval[1])}]"
    passed = c.get("passed")
    verdict = {True: "passed: the challenger may serve", False: "kept out"}.get(passed, NA) \
        if isinstance(passed, (bool, type(None))) else str(passed)
    blocks = [Pairs((
        ("serving version", _words(c.get("serving_version"))),
        ("challenger", _words(c.get("challenger"))),
        ("compared", _yes(c.get("compared"))),
        ("rows compared", _count(c.get("rows"))),
        ("challenger score", _fixed(c.get("challenger_score"))),
        ("serving score", _fixed(c.get("serving_score"))),
        ("difference [interval]", difference),
        ("p-value", _fixed(c.get("p_value"))),
        ("gate", verdict),
    ))]
    if c.get("why"):
        blocks.append(Note(str(c["why"])))
    return tuple(blocks)


def _candidates(card: dict) -> tuple:
    c = card.get("candidates")
    if not isinstance(c, dict) or not c:
        return (Note(NOT_AVAILABLE),)
    winner = card.get("winner")
    order = sorted(c, key=lambda name: (_number(c[name]) is None, -(_number(c[name]) or 0.0), str(name)))
    rows = tuple((str(name), _fixed(c[name]), "winner" if name == winner else "") for name in order)
    marks = tuple("chosen" if name == winner else "" for name in order)
    blocks = [Table(("candidate", "validation macro F1", ""), rows, marks, "candidates-table")]
    if winner is not None and winner not in c:
        blocks.append(Note(f"winner: {winner}"))
    return tuple(blocks)


def _limits(card: dict) -> tuple:
    limits = card.get("limits")
    if limits is None:
        return (Note(NOT_AVAILABLE),)
    if isinstance(limits, str):
        limits = [limits]
    if not isinstance(limits, list) or not limits:
        return (Note("none stated"),)
    return (Items(tuple(str(item) for item in limits)),)


def _libraries(card: dict) -> tuple:
    libraries = card.get("libraries")
    if not isinstance(libraries, dict) or not libraries:
        return (Note(NOT_AVAILABLE),)
    return (Pairs(tuple((str(name), _words(libraries[name])) for name in sorted(libraries, key=str))),)


def sections(card: dict) -> list[Section]:
    """The card's sections in the document's order, each as blocks both renderers read."""
    adverse = card.get("adverse_class") or "the adverse class"
    return [
        Section("summary", "Summary", "What was registered, and how it decides.", _summary(card)),
        Section("training", "Training", "The weeks and rows the model learnt from.", _training(card)),
        Section("features", "Features", "The columns the model reads.", _features(card)),
        Section("settings", "Algorithm settings", "The winner's hyperparameters as it was fitted.",
                _hyperparameters(card)),
        Section("validation", "Validation",
                "The model fitted on the training weeks, scored on the validation weeks it never saw; intervals at "
                "the stated confidence.", _validation(card)),
        Section("calibration", "Calibration",
                "How far the predicted probabilities are from the observed rates, before and after calibration.",
                _calibration(card)),
        Section("gains", "Gains table",
                f"Applications ranked by the model's score for {adverse}, cut into bands, riskiest band first: each "
                "band's event rate with its interval, and the events and non-events captured down to it (KS: the "
                "widest gap between the two).", _gains(card)),
        Section("segments", "Segments",
                "The model's figures within each group of the segment columns, with their intervals; where the card "
                "has it, each group's score PSI against its training rows (highlighted when it moved).",
                _segments(card)),
        Section("fairness", "Fairness",
                "Per group of the protected attribute: its approval rate against the overall one (the ratio must "
                "stay inside the band) and its error rates against the overall ones. Rows outside the band are "
                "highlighted.", _fairness(card)),
        Section("challenger", "Challenger comparison",
                "The gate before promotion: the new model against the serving one on the same rows.",
                _challenger(card)),
        Section("candidates", "Candidates",
                "Every algorithm trained for the week, by validation macro F1.", _candidates(card)),
        Section("limits", "Known limits", "What this card does not show, or shows with a caveat.", _limits(card)),
        Section("libraries", "Libraries", "The versions the model was fitted with.", _libraries(card)),
    ]


# ---------------------------------------------------------------- the gains chart

WIDTH, HEIGHT = 940, 300
RATES = (64, 430)  # left panel: event rate per band, from x to x
CAPTURE = (540, 916)  # right panel: cumulative events and non-events
TOP, BOTTOM = 50, 246  # the panels' plot area


def _cumulative_x(bands: list[dict]) -> list[float]:
    """Where each band ends on the right panel's x axis: the cumulative share of rows
    (from the bands' shares, else their rows, else evenly)."""
    shares = [_number(b.get("share")) for b in bands]
    if any(s is None for s in shares):
        rows = [_number(b.get("rows")) for b in bands]
        total = sum(r for r in rows if r is not None)
        even = [1 / len(bands)] * len(bands)
        shares = [r / total for r in rows] if total and all(r is not None for r in rows) else even
    out, running = [], 0.0
    for share in shares:
        running += share
        out.append(min(running, 1.0))
    return out


def _y_axis(left: float, right: float, high: float, y, label) -> list[str]:
    step = charts.nice_step(high, 5)
    out = []
    for tick in charts.ticks(0, high, step):
        out.append(charts.line(left, y(tick), right, y(tick), charts.GRID))
        out.append(charts.text(left - 6, y(tick) + 4, label(tick), 10.5, "end", fill=charts.MUTED))
    out.append(charts.line(left, BOTTOM, right, BOTTOM, charts.AXIS))
    return out


def _rate_panel(bands: list[dict], adverse: str) -> list[str]:
    left, right = RATES
    n = len(bands)
    rates = [_dict(b.get("event_rate")) for b in bands]
    seen = [v for r in rates for v in (_number(r.get("value")), _number(r.get("high")))]
    seen += [_number(b.get("validation_event_rate")) for b in bands]
    most = max([v for v in seen if v is not None and v > 0] or [1.0])
    step = charts.nice_step(most, 5)
    high = min(1.0, math.ceil(most / step - 1e-9) * step)  # the axis ends at the tick above the highest figure

    def y(v: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * min(max(v, 0.0), high) / high

    items = [(charts.swatch_box(EVENT), f"event rate ({adverse})"), (charts.swatch_line(charts.INK, 1.2), "interval")]
    if any(_number(b.get("validation_event_rate")) is not None for b in bands):
        items.append((charts.circle(8, 0, 3.5, "#fff", stroke=NON_EVENT, stroke_width="2"), "validation"))
    if any(b.get("flagged") is True for b in bands):
        items.append((charts.swatch_box("none", FLAG), "flagged"))
    legend, _, _ = charts.legend(left, 16, items, right + 60)
    out = [*legend, *_y_axis(left, right, high, y, lambda t: f"{100 * t:g} %")]
    slot = (right - left) / n
    width = min(slot * 0.64, 46)
    for i, (b, rate) in enumerate(zip(bands, rates)):
        middle = left + (i + 0.5) * slot
        value, low, up = (_number(rate.get(k)) for k in ("value", "low", "high"))
        flagged = b.get("flagged") is True
        cells = [charts.title(f"band {b.get('band')}: scores {_scores(b)}, event rate {_interval(rate, pct=True)}, "
                              f"{_count(b.get('rows'))} rows" + (", flagged" if flagged else ""))]
        if value is not None:
            extra = {"stroke": FLAG, "stroke_width": "2.5"} if flagged else {}
            cells.append(charts.rect(middle - width / 2, y(value), width, BOTTOM - y(value), EVENT, fill_opacity="0.85",
                                     **extra))
        if low is not None and up is not None:
            cells += [charts.line(middle, y(low), middle, y(up), charts.INK, 1.2),
                      charts.line(middle - 4, y(low), middle + 4, y(low), charts.INK, 1.2),
                      charts.line(middle - 4, y(up), middle + 4, y(up), charts.INK, 1.2)]
        checked = _number(b.get("validation_event_rate"))
        if checked is not None:
            cells.append(charts.circle(middle, y(checked), 3.5, "#fff", stroke=NON_EVENT, stroke_width="2"))
        cells.append(charts.text(middle, BOTTOM + 15, _words(b.get("band")), 10.5, "middle", fill=charts.MUTED))
        out.append(f'<g data-band="{escape(_words(b.get("band")), quote=True)}">{"".join(cells)}</g>')
    out.append(charts.text((left + right) / 2, BOTTOM + 34, "band, riskiest first", 11, "middle", fill=charts.MUTED))
    return out


def _capture_panel(bands: list[dict], ks_band) -> list[str]:
    left, right = CAPTURE

    def x(v: float) -> float:
        return left + (right - left) * v

    def y(v: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * min(max(v, 0.0), 1.0)

    items = [(charts.swatch_line(EVENT, 2), "events captured"), (charts.swatch_line(NON_EVENT, 2), "non-events"),
             (charts.swatch_line(charts.AXIS, 1.2, "5 4"), "no skill")]
    legend, _, _ = charts.legend(left, 16, items, WIDTH)
    out = [*legend, *_y_axis(left, right, 1.0, y, lambda t: f"{100 * t:g} %")]
    for tick in (0.25, 0.5, 0.75, 1.0):
        out.append(charts.line(x(tick), BOTTOM, x(tick), BOTTOM + 4, charts.AXIS))
        out.append(charts.text(x(tick), BOTTOM + 15, f"{100 * tick:g} %", 10.5, "middle", fill=charts.MUTED))
    out.append(charts.path([[(x(0), y(0)), (x(1), y(1))]], charts.AXIS, 1.2, "5 4"))
    xs = _cumulative_x(bands)
    lines = (("cumulative_events", EVENT, "events"), ("cumulative_non_events", NON_EVENT, "non-events"))
    for key, colour, name in lines:
        points = [(0.0, 0.0)] + [(u, _number(b.get(key))) for u, b in zip(xs, bands)]
        run = [(x(u), y(v)) for u, v in points if v is not None]
        out.append(charts.path([run], colour, 2, data_series=name))
        out += [charts.circle(px, py, 2.6, colour) for px, py in run[1:]]
    at = next((i for i, b in enumerate(bands) if b.get("band") == ks_band), None)
    if at is not None:
        top, bottom = _number(bands[at].get("cumulative_events")), _number(bands[at].get("cumulative_non_events"))
        if top is not None and bottom is not None:
            u = x(xs[at])
            late = u > right - 70  # near the right edge: the label goes left of the gap
            out.append(charts.line(u, y(top), u, y(bottom), charts.INK, 1.4, "3 3"))
            out.append(charts.text(u - 6 if late else u + 6, (y(top) + y(bottom)) / 2 + 4, f"KS {top - bottom:.3f}",
                                   11, "end" if late else "start", class_="halo", font_weight="600"))
    out.append(charts.text((left + right) / 2, BOTTOM + 34, "share of applications, riskiest first", 11, "middle",
                           fill=charts.MUTED))
    return out


def gains_chart(gains: dict, adverse: str | None = None) -> str:
    """The gains table drawn (svg#gains-chart): each band's event rate with its interval as
    bars (the validation event rate as a ring, flagged bands outlined), and the events and
    non-events captured down to each band as two lines, the KS gap marked."""
    bands = _bands(gains)
    if not bands:
        return ""
    label = "Gains: event rate per band, and cumulative events against cumulative non-events"
    body = [charts.title(label), *_rate_panel(bands, adverse or "events"), *_capture_panel(bands, gains.get("ks_band"))]
    svg = charts.svg("gains-chart", WIDTH, HEIGHT, body, label, font_family=charts.FONT, fill=charts.INK)
    # inline in HTML an <svg> needs no namespace: the card holds no URL at all
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)


# ---------------------------------------------------------------- HTML

# the tables, notes and chart of a section (the lifecycle page draws its window's with them too)
BLOCK_CSS = """
h3{font-size:14.5px;margin:14px 0 4px}
table{margin:4px 0 10px}
table.kv th{background:none;text-align:left;font-weight:500;color:#4a5560;min-width:14em;vertical-align:top;
  white-space:nowrap}
table.kv td{text-align:left;white-space:normal;max-width:52em;overflow-wrap:anywhere}
th.text{text-align:left}
td .ci{color:#4a5560;font-size:12px;margin-left:4px}
tr.flag td{background:#fdecea}
tr.flag td:first-child{box-shadow:inset 3px 0 #c0392b;font-weight:650}
tr.chosen td{background:#eaf4ec;font-weight:650}
p.note{margin:4px 0 10px;max-width:70em}
ul.limits{margin:4px 0 10px;padding-left:1.3em;max-width:70em}
ul.limits li{margin:3px 0}
.chart{margin:8px 0 12px}
"""
CARD_CSS = BLOCK_CSS + """
main{max-width:1140px}
header h1{font-size:24px}
.cards{gap:8px}
.card{padding:8px 12px;min-width:0}
nav{font-size:12.5px;color:#4a5560;margin:10px 0 0;line-height:1.9}
nav a{color:#0b4f8a;text-decoration:none;margin-right:12px;white-space:nowrap}
footer{border-top:1px solid #dde1e6;padding-top:8px}
@media print{
  body{background:#fff;font-size:10.5pt}
  main{max-width:none;padding:0}
  nav{display:none}
  section{border:0;border-top:1px solid #c9ced4;border-radius:0;padding:8px 0 4px;margin:10px 0;overflow:visible}
  h2,h3{break-after:avoid}
  tr,svg,.cards{break-inside:avoid}
  tr.flag td,tr.chosen td,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""


def _cell(value: str) -> str:
    # an interval in smaller, quieter type after its value: "0.830 [0.810, 0.850]"
    head, bracket, rest = value.partition(" [")
    return escape(head) + (f'<span class="ci">[{escape(rest)}</span>' if bracket and rest.endswith("]") else
                           escape(bracket + rest))


_FIGURE = re.compile(r"^([-+]?\d|n/a$|from \d|below \d)")


def _numeric(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> list[bool]:
    """Per column: right-aligned (every cell a figure), else left (words, names)."""
    return [i > 0 and all(_FIGURE.match(row[i]) or row[i] == "" for row in rows if i < len(row))
            for i in range(len(columns))]


def _html_block(block) -> str:
    if isinstance(block, Pairs):
        return '<table class="kv"><tbody>' + "".join(
            f'<tr><th scope="row">{escape(label)}</th><td>{_cell(value)}</td></tr>' for label, value in block.pairs) \
            + "</tbody></table>"
    if isinstance(block, Table):
        right = _numeric(block.columns, block.rows)
        head = "".join(f'<th scope="col"{"" if right[i] else " class=text"}>{escape(c)}</th>'
                       for i, c in enumerate(block.columns))
        body = []
        for k, row in enumerate(block.rows):
            mark = block.marks[k] if k < len(block.marks) else ""
            cells = "".join(f"<td>{_cell(v)}</td>" if right[i] else f'<td class="text">{_cell(v)}</td>'
                            for i, v in enumerate(row))
            body.append(f'<tr class="{mark}">{cells}</tr>' if mark else f"<tr>{cells}</tr>")
        table_id = f' id="{escape(block.table_id)}"' if block.table_id else ""
        return f"<table{table_id}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if isinstance(block, Note):
        return f'<p class="note">{escape(block.text)}</p>'
    if isinstance(block, Items):
        return '<ul class="limits">' + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Heading):
        return f"<h3>{escape(block.text)}</h3>"
    if isinstance(block, Drawing):
        return f'<div class="chart">{block.svg}</div>' if block.svg else ""
    raise TypeError(f"not a block of a card: {block!r}")


def _headline(card: dict) -> str:
    """The figures a reviewer looks at first, as the lifecycle page's cards."""
    v, g, c = _dict(card.get("validation")), _dict(card.get("gains")), card.get("challenger")
    level = _confidence(v.get("confidence"))
    cards = [(_interval(v.get("macro_f1")), f"macro F1 (validation, {level})", ""),
             (_interval(v.get("auc")), "AUC (validation)", ""),
             (_fixed(g.get("ks")), "KS (gains table)", "")]
    fairness = card.get("fairness")
    if isinstance(fairness, dict) and fairness:
        outside = fairness.get("groups_outside")
        cards.append((_fixed(fairness.get("approval_ratio_between")),
                      f"approval ratio across {fairness.get('column') or 'groups'}"
                      + (f"; outside: {_words(outside)}" if outside else ""), "alert" if outside else ""))
    if isinstance(c, dict):
        cards.append(({True: "passed", False: "kept out"}.get(c.get("passed"), NA),
                      f"challenger gate vs version {c.get('serving_version') or NA}",
                      "alert" if c.get("passed") is False else ""))
    elif "challenger" in card and c is None:
        cards.append(("first", "model of the chain: no gate", ""))
    shown = [card for card in cards if card[0] != NA]
    return '<div class="cards">' + "".join(
        f'<div class="card {kind}"><b>{_card_value(value)}</b><span>{escape(label)}</span></div>'
        for value, label, kind in shown) + "</div>" if shown else ""


def _card_value(value: str) -> str:
    head, bracket, rest = value.partition(" [")
    return escape(head) + (f"<small>[{escape(rest)}</small>" if bracket else "")


def html(card: dict) -> str:
    """The card as one self-contained HTML page: title, headline figures, then every
    section (sections) with its tables, the gains chart inline. Opens offline, prints as
    a document; the same card gives the same bytes."""

    heading = title(card)
    algorithm, week, uri = card.get("algorithm") or NA, card.get("week") or NA, card.get("model_uri")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title>",
        f"<style>{CSS}{CARD_CSS}</style></head><body><main>",
        f"<header><p>{escape(' · '.join(['Model card', 'validation document', *([str(uri)] if uri else [])]))}</p>",
        f"<h1>{escape(heading)}</h1><p>{escape(str(algorithm))}, registered week {escape(str(week))}</p>",
        _headline(card),
        "<nav>" + "".join(f'<a href="#{s.section_id}">{escape(s.title)}</a>' for s in sections(card)) + "</nav>",
        "</header>",
    ]
    for s in sections(card):
        parts.append(f'<section id="{s.section_id}"><h2>{escape(s.title)}</h2><p class="sub">{escape(s.sub)}</p>'
                     + "".join(_html_block(b) for b in s.blocks) + "</section>")
    parts.append("<footer>Written from card.json when the version registered (models/&lt;week&gt;/winner/); "
                 "self-contained, it opens offline.</footer></main></body></html>")
    return "\n".join(parts) + "\n"


WINDOW_SECTIONS = ("gains", "segments", "fairness")


def window_html(figures: dict, adverse: str, said: str) -> str:
    """The gains table, segments and fairness sections of an evidence window (eval.json
    `pooled`: gains, segments, fairness) drawn as the card draws its validation's, each
    section's text after `said` (which window): the lifecycle page shows its newest window's."""
    window = {"adverse_class": adverse, **{key: figures.get(key) for key in WINDOW_SECTIONS}}
    return "".join(f'<section id="{s.section_id}-section"><h2>{escape(s.title)}</h2>'
                   f'<p class="sub">{escape(said)} {escape(s.sub)}</p>' + "".join(_html_block(b) for b in s.blocks)
                   + "</section>" for s in sections(window) if s.section_id in WINDOW_SECTIONS)


# ---------------------------------------------------------------- plain text

def _wrapped(text: str, indent: str, hanging: str | None = None) -> list[str]:
    return textwrap.wrap(text, TEXT_WIDTH, initial_indent=indent, subsequent_indent=hanging or indent,
                         break_on_hyphens=False) or [indent.rstrip()]


def _text_block(block) -> list[str]:
    if isinstance(block, Pairs):
        width = max(len(label) for label, _ in block.pairs) + 2
        lines = []
        for label, value in block.pairs:
            lines += _wrapped(value, f"  {label:<{width}}", " " * (width + 2))
        return lines
    if isinstance(block, Table):
        right = _numeric(block.columns, block.rows)
        widths = [max(len(row[i]) if i < len(row) else 0 for row in (block.columns, *block.rows))
                  for i in range(len(block.columns))]
        return ["  " + "  ".join(cell.rjust(w) if r else cell.ljust(w)
                                 for cell, w, r in zip(row, widths, right)).rstrip()
                for row in (block.columns, *block.rows)]
    if isinstance(block, Note):
        return _wrapped(block.text, "  ")
    if isinstance(block, Items):
        return [line for item in block.items for line in _wrapped(item, "  - ", "    ")]
    if isinstance(block, Heading):
        return [f"  {block.text}:"]
    if isinstance(block, Drawing):
        return []
    raise TypeError(f"not a block of a card: {block!r}")


def text(card: dict) -> str:
    """The card as plain text for a terminal (`weekly card VERSION`): the same sections as
    `html`, one block each, aligned; the gains chart left out (its table is there)."""
    heading = title(card)
    lines = [heading, "=" * len(heading)]
    for s in sections(card):
        lines += ["", s.title, "-" * len(s.title)]
        for block in s.blocks:
            lines += _text_block(block)
    return "\n".join(lines)
