"""The lifecycle page: the pure drawing on tiny hand-made weeks, then the page the tiny
backfill makes, opened from disk in headless Chromium (Debian's package) as a person
would, and `snakemake --report` carrying it."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from helpers import REPO, TINY_RETRAIN_WEEKS, TINY_WEEKS, clone, run, snakemake
from weekly.commands import policies
from weekly.reporting import charts
from weekly.reporting import page as lifecycle
from weekly import paths

WEEK_CHARTS = ("performance", "triggers", "class-mix", "drift")
WEEKS = ["2022-01-16", "2022-01-23", "2022-01-30", "2022-02-06", "2022-02-13"]
LONG = "average_monthly_balance_of_all_revolving_accounts_last_12m"


# ---------------------------------------------------------------- tiny hand-made weeks (binary: No / Yes)

def performance_inputs(weeks=("2022-01-16",), rows=100, value=0.78, low=0.72, high=0.84, judged=True, why_not=None,
                       below_floor=False):
    return {"metric": "macro_f1", "evaluation": weeks[0] if weeks else None, "weeks": list(weeks), "rows": rows,
            "judged": judged, "why_not": why_not, "value": value if judged else None, "low": low if judged else None,
            "high": high if judged else None, "se": 0.03, "validation": {"value": 0.8, "se": 0.02},
            "drop": 0.02, "drop_z": -2.2, "below_floor": below_floor, "significant_drop": False, "single_class": False,
            "predicted_classes": ["No", "Yes"]}


def drift_inputs(weeks=("2022-01-16",), rows=100, judged=True, why_not=None, over=(), seen=()):
    features = {"income": {"psi": 0.02, "critical": 0.09, "significant": False, "moved": False},
                LONG: {"psi": 0.31 if over else 0.05, "critical": 0.12, "significant": bool(over), "moved": bool(over)}}
    return {"week": weeks[0] if weeks else None, "weeks": list(weeks), "rows": rows, "judged": judged, "why_not": why_not,
            "features_over": list(over), "features": features if judged else {}, "already_seen": list(seen),
            "max_feature_psi": 0.31 if over else 0.05, "score_psi": 0.03, "score_critical": 0.1}


def decision(week, reasons=(), blocked=None, drift_on=True, floor=0.75, performance=None, drift_=None):
    thresholds = {"time": {"max_days": 90}, "performance": {"floor": floor, "max_drop": 0.1, "alpha": 0.05},
                  "drift": {"threshold": 0.1, "min_features": 1, "score_threshold": 0.1, "alpha": 0.05, "min_rows": 100},
                  "initial": None}
    inputs = {"time": {"last_retraining_date": "2022-01-16", "days_since_last_retraining": 7},
              "performance": performance or performance_inputs(), "drift": drift_ or drift_inputs(), "initial": {}}
    triggers = {name: {"enabled": name != "drift" or drift_on, "inputs": inputs[name], "threshold": threshold,
                       "fired": name in reasons}
                for name, threshold in thresholds.items()}
    return {"week": week, "retrain": bool(reasons) and not blocked, "reasons": list(reasons), "blocked": blocked,
            "triggers": triggers}


def tracker(week, version, algo, retrained, **extra):
    return {"week": week, "model_name": "credit-scoring", "model_version": version, "model_type": algo,
            "retrained": retrained, "macro_f1_score": 0.8, "last_retraining_date": week if retrained else "2022-01-16",
            **extra}


def calibration(low, high):
    """Ten bins of the event's probability, two of them filled: (count, predicted, observed)."""
    filled = {1: low, 8: high}
    return [{"bin": [b / 10, (b + 1) / 10], "count": filled[b][0] if b in filled else 0,
             "mean_predicted": filled[b][1] if b in filled else None,
             "observed_rate": filled[b][2] if b in filled else None} for b in range(10)]


def pooled(weeks, rows, value, low, high, why_not=None):
    """eval.json's evidence window: `weeks` newest first."""
    judged = why_not is None
    return {"weeks": weeks, "first_week": weeks[-1], "last_week": weeks[0], "rows": rows, "judged": judged,
            "why_not": why_not, "confidence": 0.95,
            "macro_f1": {"value": value, "se": 0.03, "low": low if judged else None, "high": high if judged else None},
            "auc": {"value": 0.81, "se": 0.02, "low": 0.77 if judged else None, "high": 0.85 if judged else None},
            "accuracy": {"value": 0.8, "low": 0.75, "high": 0.85}, "predicted_classes": ["No", "Yes"],
            "single_class": False, "model_versions": ["1"]}


def evaluation(week, f1, version, algo, rows=100, too_small=False, window=None):
    risk = {"per_class": {"No": {"auc": 0.81, "gini": 0.62}, "Yes": {"auc": 0.81, "gini": 0.62}},
            "event": "Yes", "auc": 0.81, "gini": 0.62, "ks": 0.45, "brier": 0.1, "log_loss": 0.3,
            "calibration": {"Yes": calibration((60, 0.15, 0.1), (40, 0.85, 0.9))}}
    return {"week": week, "model_version": version, "model_type": algo, "applications": rows, "too_small": too_small,
            "macro_f1": f1, "accuracy": None if f1 is None else f1 + 0.05, "rows": rows, "risk": risk,
            "predicted_mix": {"No": 0.7, "Yes": 0.3}, "outcome_mix": {"No": 0.65, "Yes": 0.35},
            "pooled": window or pooled([week], rows, f1, None if f1 is None else f1 - 0.06,
                                       None if f1 is None else f1 + 0.06)}


def drift(week, income):
    return {"week": week, "model_version": "1", "rows": 100, "features": {"income": income, "debt": None}, "score": 0.02,
            "pooled": {"weeks": [week], "rows": 100, "judged": True, "why_not": None, "alpha": 0.05, "tests": 3,
                       "features": {"income": {"psi": income, "rows": 100, "critical": 0.09, "significant": False,
                                               "moved": False}}}}


def tiny_weeks(floor=0.75):
    """Five weeks: initial training, a challenger kept out, a week too small to judge alone
    (judged pooled with the two before), a retraining on performance (its week too small
    even pooled: the new model has one week), and a week awaiting its outcomes; `debt`
    never has a PSI."""
    gate = {"compared": True, "challenger_score": 0.79, "serving_score": 0.81, "passed": False,
            "why": "catboost 0.7900 vs serving version 1 0.8100 on 200 rows: difference -0.0200 [-0.0600, +0.0200]"}
    kept_out = tracker("2022-01-23", "1", "lightgbm", False, last_retraining_date="2022-01-23",
                       kept_because=f"challenger kept out: {gate['why']}", selection={"winner": "catboost", "gate": gate})
    trackers = [tracker("2022-01-16", "1", "lightgbm", True), kept_out,
                tracker("2022-01-30", "1", "lightgbm", False), tracker("2022-02-06", "2", "catboost", True),
                tracker("2022-02-13", "2", "catboost", False)]
    too_few = "30 labelled rows, fewer than evaluate.min_rows 50"
    decisions = [
        decision("2022-01-16", ["initial"], floor=floor,
                 performance=performance_inputs([], 0, judged=False), drift_=drift_inputs([], 0, judged=False)),
        decision("2022-01-23", ["time"], floor=floor),
        decision("2022-01-30", floor=floor, drift_=drift_inputs(["2022-01-23", "2022-01-16"], 200, seen=["income"])),
        decision("2022-02-06", ["performance", "drift"], floor=floor,
                 drift_=drift_inputs(["2022-01-30"], 120, over=[LONG]),
                 performance=performance_inputs(["2022-01-30", "2022-01-23", "2022-01-16"], 200, 0.70, 0.66, 0.74,
                                                below_floor=True)),
        decision("2022-02-13", floor=floor,
                 performance=performance_inputs(["2022-02-06"], 30, judged=False, why_not=too_few),
                 drift_=drift_inputs(["2022-02-06"], 60, judged=False,
                                     why_not="60 applications over 1 week(s), fewer than retrain.drift.min_rows 100"))]
    evaluations = {e["week"]: e for e in (
        evaluation("2022-01-16", 0.80, "1", "lightgbm"),
        evaluation("2022-01-23", 0.78, "1", "lightgbm",
                   window=pooled(["2022-01-23", "2022-01-16"], 200, 0.79, 0.73, 0.85)),
        evaluation("2022-01-30", None, "1", "lightgbm", rows=0, too_small=True,
                   window=pooled(["2022-01-30", "2022-01-23", "2022-01-16"], 200, 0.70, 0.66, 0.74)),
        evaluation("2022-02-06", 0.70, "2", "catboost", rows=30, too_small=True,
                   window=pooled(["2022-02-06"], 30, 0.70, None, None, why_not=too_few)))}
    drifts = [drift(w, psi) for w, psi in zip(WEEKS, [0.01, 0.12, 0.3, 1.7, None])]
    return trackers, decisions, evaluations, drifts


def tiny_page(floor=0.75, **extra) -> str:
    trackers, decisions, evaluations, drifts = tiny_weeks(floor)
    summary = {"weeks": 5, "retrains": 2, "mean_macro_f1": 0.76, "worst_macro_f1": 0.70, "worst_week": "2022-02-06"}
    return lifecycle.page(trackers=trackers, decisions=decisions, evaluations=evaluations, drifts=drifts,
                          summary=summary, classes=["No", "Yes"],
                          predicted_mix={"2022-02-13": {"No": 0.6, "Yes": 0.4}}, **extra)


def tiny_comparison() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Two policies' table and weekly reports over the tiny weeks (`weekly policies` makes them)."""
    table = pd.DataFrame([{"policy": "every-21d", "mean_macro_f1": 0.78, "weeks_under_floor": 1, "retrainings": 2},
                          {"policy": "every-14d", "mean_macro_f1": 0.80, "weeks_under_floor": 0, "retrainings": 3}])
    weekly = {name: pd.DataFrame({"week": WEEKS, "macro_f1": [f1, f1 - 0.02, f1 + 0.01, f1 - 0.05, None],
                                  "evaluated": [True] * 4 + [False], "too_small": [False] * 4 + [None]})
              for name, f1 in (("every-21d", 0.79), ("every-14d", 0.81))}
    return table, weekly


def chart(html: str, chart_id: str) -> str:
    found = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert found, f"no chart {chart_id}"
    return found.group(0)


def week_element(svg: str, week: str) -> str:
    found = re.search(rf'<(g|rect)[^>]*data-week="{week}".*?</\1>', svg, re.S)
    assert found, week
    return found.group(0)


def test_the_page_fetches_nothing():
    html = tiny_page()
    assert html.startswith("<!DOCTYPE html>")
    for fetching in ("<script", "<link", "src=", "@import", "<iframe", "<img"):
        assert fetching not in html
    assert set(re.findall(r"https?://[^\s\"')]+", html)) == {"http://www.w3.org/2000/svg"}  # a namespace, not a fetch


def test_every_chart_over_time_has_one_element_per_week():
    html = tiny_page()
    for chart_id in WEEK_CHARTS:
        assert re.findall(r'data-week="([^"]+)"', chart(html, chart_id)) == WEEKS, chart_id


def test_records_say_what_each_week_did():
    records = lifecycle.week_records(*tiny_weeks())
    assert [r["outcome"] for r in records] == ["retrained", "kept out", None, "retrained", None]
    assert [r["judged"] for r in records] == [True, True, False, False, False]  # the week alone
    assert [r["evaluated"] for r in records] == [True, True, True, True, False]
    assert records[2]["macro_f1"] is None and records[2]["too_small"]
    assert [r["pooled"]["judged"] if r["pooled"] else None for r in records] == [True, True, True, False, None]
    assert records[2]["pooled"]["weeks"] == ["2022-01-16", "2022-01-23", "2022-01-30"]
    assert records[2]["pooled"]["macro_f1"] == {"value": 0.70, "low": 0.66, "high": 0.74}
    assert records[4]["psi"] == {"income": None, "debt": None}


def test_a_due_retraining_not_done_is_told_apart_from_a_kept_out_challenger():
    trackers, decisions, evaluations, drifts = tiny_weeks()
    decisions[2] = decision("2022-01-30", ["time"], blocked="train rows 12 < min_rows 100")
    trackers[2] = {**trackers[2], "kept_because": "training blocked: train rows 12 < min_rows 100"}
    records = lifecycle.week_records(trackers, decisions, evaluations, drifts)
    assert records[2]["outcome"] == "blocked"
    assert "due, not done" in lifecycle.trigger_chart(records, lifecycle.trigger_labels(decisions))


def test_binary_problem_shows_the_event_and_its_ks():
    html = tiny_page()
    calibration_svg = chart(html, "calibration")
    assert "P(Yes)" in calibration_svg and "P(No)" not in calibration_svg
    assert "KS 0.450" in week_element(chart(html, "performance"), "2022-01-16")
    assert "Binary problem" in html


def test_weeks_awaiting_outcomes_and_too_small_weeks_are_drawn_as_such():
    html = tiny_page()
    performance = chart(html, "performance")
    assert "awaiting outcomes" in week_element(performance, "2022-02-13")
    assert "too small to judge (0 labelled rows)" in week_element(performance, "2022-01-30")
    assert "not judged: 30 labelled rows, fewer than evaluate.min_rows 50" in week_element(performance, "2022-02-06")
    mix = week_element(chart(html, "class-mix"), "2022-02-13")
    assert "url(#awaiting)" in mix and "No 60.0 %, Yes 40.0 %" in mix  # predicted mix from its predictions
    assert "challenger kept out" in week_element(chart(html, "triggers"), "2022-01-23")
    assert ">1 / 2<" in html  # weeks awaiting outcomes / too small alone, in the header


def test_missing_psi_values_have_their_own_pattern():
    drift_svg = chart(tiny_page(), "drift")
    assert drift_svg.count(lifecycle.NO_VALUE) == len(WEEKS) + 1 + 1  # debt every week, income once, the legend
    assert lifecycle.psi_colour(None) == lifecycle.NO_VALUE
    assert lifecycle.psi_colour(0.0) == "#ffffff" and lifecycle.psi_colour(0.1) == "#fee391"
    assert lifecycle.psi_colour(7.0) == lifecycle.PSI_STOPS[-1][1]


def test_the_header_gives_the_span_and_the_figures():
    html = tiny_page()
    assert "2022-01-16 … 2022-02-13: 5 weeks, 2 retrainings" in html
    assert "0.7600" in html and "v2 catboost" in html
    # the newest judged pooled figure (the newest week is too small, alone and pooled), and the lowest
    header = html[html.index("<header>"):html.index("</header>")]
    assert "<b>0.700<small>[0.660, 0.740]</small></b>" in header and "<b>0.810<small>[0.770, 0.850]</small></b>" in header
    assert "newest judged: pooled over 2022-01-16..2022-01-30, 3 weeks, 200 rows" in header
    assert "lowest pooled macro F1 (week 2022-01-30" in header and "n/a" not in header


def test_the_performance_chart_shows_the_pooled_figure_its_interval_and_its_weeks():
    html = tiny_page()
    performance = chart(html, "performance")
    week = week_element(performance, "2022-01-30")
    assert "the week alone too small to judge" in week
    assert ("pooled over 2022-01-16..2022-01-30, 3 weeks, 200 rows: macro F1 0.700 [0.660, 0.740], "
            "AUC 0.810 [0.770, 0.850]") in week
    first = week_element(performance, "2022-01-16")
    assert "pooled over 2022-01-16, 1 week, 100 rows: macro F1 0.800 [0.740, 0.860]" in first
    assert performance.count("<polygon") == 1  # one band over the three judged windows
    assert "its 95% interval" in performance and "lowest 2022-01-30: pooled macro F1 0.700" in performance


def test_a_null_floor_is_no_floor():
    trackers, decisions, evaluations, drifts = tiny_weeks(floor=None)
    assert lifecycle.performance_floor(decisions) is None
    assert lifecycle.trigger_labels(decisions)["performance"] == "performance (no floor)"
    html = tiny_page(floor=None)
    assert "performance floor" not in chart(html, "performance")
    assert f'stroke="{lifecycle.FLOOR_COLOUR}" stroke-width="1.2" stroke-dasharray="6 4"' not in html
    assert "No performance floor" in html and "no floor;" in html
    assert "floor 0.75" in tiny_page() and lifecycle.performance_floor(tiny_weeks()[1]) == 0.75


def test_why_the_performance_trigger_fired_or_not():
    trigger = decision("2022-02-06", ["performance"],
                       performance=performance_inputs(["2022-01-30", "2022-01-23"], 200, 0.70, 0.66, 0.74,
                                                      below_floor=True))["triggers"]["performance"]
    assert lifecycle.why_performance(trigger) == (
        "macro F1 0.700 [0.660, 0.740], pooled over 2022-01-23..2022-01-30, 2 weeks, 200 rows; floor 0.75: significantly "
        "below; validation 0.800 − max drop 0.1 = 0.700: not significantly under (z -2.20); one-sided at α 0.05")
    trigger["threshold"]["floor"] = None
    assert "; no floor; " in lifecycle.why_performance(trigger)
    quiet = decision("2022-02-13", performance=performance_inputs(judged=False, why_not="3 of class Yes, too few"))
    assert lifecycle.why_performance(quiet["triggers"]["performance"]) == "not judged: 3 of class Yes, too few"


def test_why_the_drift_trigger_fired_or_not():
    fired = decision("2022-02-06", ["drift"], drift_=drift_inputs(["2022-01-30"], 120, over=[LONG], seen=["income"]))
    text = lifecycle.why_drift(fired["triggers"]["drift"])
    assert text.startswith("pooled over 2022-01-30, 1 week, 120 rows: 1 of 2 features moved (PSI over its critical "
                           "value at α 0.05 and ≥ 0.1; 1 needed)")
    assert f"moved: {LONG} 0.310 > 0.120" in text
    assert "already moved in the model's validation weeks (not counted): income" in text
    small = drift_inputs()
    small["features"]["income"].update(psi=0.095, significant=True)
    assert "significant, under 0.1: income 0.095 > 0.090" in lifecycle.why_drift({"inputs": small, "threshold": {
        "threshold": 0.1, "alpha": 0.05, "min_features": 1, "score_threshold": 0.1}})
    assert lifecycle.why_drift(decision("2022-02-13", drift_=drift_inputs(judged=False, why_not="60 applications"))
                               ["triggers"]["drift"]) == "not judged: 60 applications"


def test_the_decisions_table_says_why_each_week_did_what_it_did():
    html = tiny_page()
    table = html[html.index('<table id="decisions-table">'):html.index("the 2 week(s) where no trigger fired")]
    # the weeks where something fired or happened; the others folded under it
    assert re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", table) == ["2022-01-16", "2022-01-23", "2022-02-06"]
    assert "challenger kept out: catboost 0.7900 vs serving version 1 0.8100" in table
    assert "fired:</b> macro F1 0.700 [0.660, 0.740], pooled over 2022-01-16..2022-01-30, 3 weeks, 200 rows" in table
    assert "not judged: 30 labelled rows, fewer than evaluate.min_rows 50" in html
    assert "not judged: 60 applications over 1 week(s), fewer than retrain.drift.min_rows 100" in html
    assert "validation weeks (not counted): income" in html


def test_long_feature_names_are_never_cut_off():
    trackers, decisions, evaluations, drifts = tiny_weeks()
    drifts = [{**d, "features": {LONG: d["features"]["income"], "debt": None}} for d in drifts]
    html = lifecycle.page(trackers=trackers, decisions=decisions, evaluations=evaluations, drifts=drifts, summary={},
                          classes=["No", "Yes"])
    drift_svg = chart(html, "drift")
    assert f"<title>{LONG}</title>" in drift_svg and f"{LONG} 1.700" in drift_svg  # its label's and a week's tooltip
    label = re.search(rf"<g><title>{LONG}</title>(.*?)</g>", drift_svg).group(1)
    wrapped = re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', label)
    assert "".join(wrapped) == LONG and len(wrapped) > 1  # on several lines, every one inside the margin
    assert all(charts.text_width(text) <= lifecycle.LEFT - 8
               for text in re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', drift_svg))
    # in the tables, a name breaks after its underscores: whole, never clipped
    assert LONG.replace("_", "_<wbr>") in html
    assert "ellipsis" not in html and "text-overflow" not in html


def test_calibration_pools_the_latest_models_judged_weeks():
    records = lifecycle.week_records(*tiny_weeks())
    assert lifecycle.calibration_weeks(records) == ("2", ["2022-02-06"])
    weeks = [{"risk": {"calibration": {"Yes": calibration((60, 0.15, 0.1), (40, 0.85, 0.9))}}},
             {"risk": {"calibration": {"Yes": calibration((20, 0.19, 0.3), (0, None, None))}}}]
    pooled = lifecycle.pooled_calibration(weeks)["Yes"]
    assert [b["count"] for b in pooled] == [80, 40]
    assert pooled[0]["mean_predicted"] == pytest.approx((60 * 0.15 + 20 * 0.19) / 80)
    assert pooled[0]["observed_rate"] == pytest.approx((60 * 0.1 + 20 * 0.3) / 80)


def test_the_policy_comparison_joins_the_page():
    table = pd.DataFrame([{"policy": "every-60d", "overrides": "retrain.time.max_days=60", "mean_macro_f1": 0.8279,
                           "retrainings": 18}])
    plot = '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg" width="10pt"><g/></svg>'
    html = tiny_page(policies=table, policies_svg=plot)
    assert 'id="policies-table"' in html and "every-60d" in html and "0.8279" in html
    assert '<svg id="policies-plot" xmlns=' in html and "<?xml" not in html
    assert "policies-section" not in tiny_page()


def test_the_policy_comparisons_own_chart_joins_the_page_with_one_id():
    table, weekly = tiny_comparison()
    html = tiny_page(policies=table, policies_svg=policies.comparison_svg(table, weekly, 0.75))
    assert html.count('id="policies-plot"') == 1 and '<svg id="policies-plot" xmlns=' in html
    assert chart(html, "policies-plot").count('<path d="M') == len(weekly)  # drawn as the page draws: SVG, text as text


def test_the_time_axis_is_labelled_by_week_or_by_month():
    assert [label for _, label in charts.month_ticks(WEEKS, lifecycle.PLOT)] == \
           ["16 Jan 2022", "23 Jan", "30 Jan", "6 Feb", "13 Feb"]
    from weekly.lifecycle.weeks import chain

    ticks = charts.month_ticks(chain("2022-01-16", "2024-12-29"), lifecycle.PLOT)
    labels = [label for _, label in ticks]
    assert labels[0] == "Jan 2022" and "Jan 2023" in labels and "Jan 2024" in labels and "Apr" in labels


# ---------------------------------------------------------------- the drawing primitives (weekly.reporting.charts)

def test_the_chart_primitives_draw_the_strings_the_page_always_drew():
    """weekly.reporting.charts holds the page's drawing code, moved: the same strings, byte for byte."""
    assert charts.text(12.34, 56.78, "a < b & c", 11.5, "end", fill="#4a5560", font_weight="600", class_="halo") == (
        '<text x="12.3" y="56.8" font-size="11.5" text-anchor="end" fill="#4a5560" font-weight="600" class="halo">'
        "a &lt; b &amp; c</text>")
    assert charts.rect(1.04, 2, -3, 4.56, "url(#off)", stroke="#c9ced4", stroke_width="0.5") == \
           '<rect x="1" y="2" width="0" height="4.6" fill="url(#off)" stroke="#c9ced4" stroke-width="0.5"/>'
    assert charts.line(0, 1.5, 10.25, 1.5, "#9aa3ad", 1.2, "6 4") == \
           '<line x1="0" y1="1.5" x2="10.2" y2="1.5" stroke="#9aa3ad" stroke-width="1.2" stroke-dasharray="6 4"/>'
    assert charts.svg("x", 1180, 40.25, ["<g/>"], 'a "chart"') == (
        '<svg id="x" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1180 40.2" width="1180" height="40.2" '
        'role="img" aria-label="a &quot;chart&quot;"><g/></svg>')
    # a legend too long for a row: on two, the chart moved down by one
    items = [("<g/>", "w" * 80), ("<g/>", "x" * 80)]
    assert charts.chart("x", 1180, 50, ["<g/>"], items, "label", lifecycle.LEFT, lifecycle.LEFT + lifecycle.PLOT) == (
        '<svg id="x" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1180 68" width="1180" height="68" role="img" '
        'aria-label="label"><g transform="translate(196,14)"><g/></g><text x="218" y="18" font-size="11.5" '
        f'text-anchor="start">{"w" * 80}</text><g transform="translate(196,32)"><g/></g><text x="218" y="36" '
        f'font-size="11.5" text-anchor="start">{"x" * 80}</text><g transform="translate(0,18)"><g/></g></svg>')
    ticks = "".join(f'<line x1="{x}" y1="100" x2="{x}" y2="105" stroke="#9aa3ad" stroke-width="1"/>'
                    f'<text x="{x}" y="117" font-size="11" text-anchor="{anchor}" fill="#4a5560">{label}</text>'
                    for x, anchor, label in (("196", "start", "16 Jan 2022"), ("388.4", "middle", "23 Jan"),
                                             ("580.8", "middle", "30 Jan"), ("773.2", "middle", "6 Feb"),
                                             ("965.6", "middle", "13 Feb")))
    assert "".join(charts.time_axis(WEEKS, 100, lifecycle.LEFT, lifecycle.PLOT)) == (
        '<line x1="196" y1="100" x2="1158" y2="100" stroke="#9aa3ad" stroke-width="1"/>' + ticks
        + '<text x="186" y="117" font-size="11" text-anchor="end" fill="#4a5560">week starting</text>')


# Each chart of the tiny weeks as the page drew it before its primitives moved to weekly.reporting.charts
# (sha256): a chart meant to change takes its new digest here, one drawn differently by mistake fails.
CHART_DIGESTS = {
    "performance": "739bdaa38e054eef", "triggers": "ec5f4688faaa94b0", "class-mix": "274dd62f6032e764",
    "drift": "eb36eb6cb8cd58d0", "calibration": "05434dbfe958970b",
}


def test_the_charts_of_the_page_are_drawn_byte_for_byte_as_before():
    trackers, decisions, evaluations, drifts = tiny_weeks()
    records = lifecycle.week_records(trackers, decisions, evaluations, drifts, {"2022-02-13": {"No": 0.6, "Yes": 0.4}})
    _, weeks = lifecycle.calibration_weeks(records)
    drawn = {
        "performance": lifecycle.performance_chart(records, 0.75),
        "triggers": lifecycle.trigger_chart(records, lifecycle.trigger_labels(decisions)),
        "class-mix": lifecycle.mix_chart(records, ["No", "Yes"]),
        "drift": lifecycle.drift_chart(records),
        "calibration": lifecycle.calibration_chart(lifecycle.pooled_calibration(evaluations[w] for w in weeks),
                                                   ["No", "Yes"]),
    }
    assert {name: hashlib.sha256(svg.encode()).hexdigest()[:16] for name, svg in drawn.items()} == CHART_DIGESTS
    tiny = tiny_page()
    assert all(svg in tiny for svg in drawn.values())  # what the page shows


def test_a_page_needs_a_week():
    with pytest.raises(ValueError, match="at least one week"):
        lifecycle.page(trackers=[], decisions=[], evaluations={}, drifts=[], summary={}, classes=["No", "Yes"])


# ---------------------------------------------------------------- the tiny backfill's page, as a person sees it

def chromium() -> str:
    """Debian's chromium: installed with apt-get when missing and the tests run as root (a
    fresh CI machine; .ci/run does it first too). Still missing, the test fails unless
    WEEKLY_SKIP_BROWSER=1 says to skip it."""
    path = os.environ.get("WEEKLY_CHROMIUM") or shutil.which("chromium")
    if path:
        return path
    if os.environ.get("WEEKLY_SKIP_BROWSER") == "1":
        pytest.skip("WEEKLY_SKIP_BROWSER=1 and no chromium")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        subprocess.run(["apt-get", "install", "-y", "chromium"], env=env, capture_output=True, check=False)
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.fail("Debian's chromium is not installed (`apt-get install -y chromium`; .ci/run does it); "
                "WEEKLY_SKIP_BROWSER=1 skips this test")


def test_the_backfill_page_draws_in_headless_chromium_offline(backfill):
    from playwright.sync_api import sync_playwright

    root, _ = backfill
    page_file = root / paths.LIFECYCLE_REPORT
    assert page_file.is_file()
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors, fetched = [], []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: fetched.append(request.url))
            page.goto(page_file.as_uri(), wait_until="load")
            assert errors == []
            assert fetched == [page_file.as_uri()]  # the page alone: no script, style, font or image fetched
            assert "8 weeks, 3 retrainings" in page.locator("h1").inner_text()
            for chart_id in WEEK_CHARTS:
                box = page.locator(f"svg#{chart_id}").bounding_box()
                assert box and box["width"] > 600 and box["height"] > 80, chart_id
                weeks = page.eval_on_selector_all(
                    f"svg#{chart_id} [data-week]",
                    "els => els.map(e => { const b = e.getBBox(); return [e.dataset.week, b.width, b.height]; })")
                assert [week for week, _, _ in weeks] == TINY_WEEKS, chart_id
                assert all(width > 0 and height > 0 for _, width, height in weeks), chart_id
            span = page.eval_on_selector_all(
                f"svg#performance polyline[stroke='{lifecycle.F1_COLOUR}']",
                "els => els.map(e => e.getBBox()).reduce((s, b) => [Math.min(s[0], b.x), Math.max(s[1], b.x + b.width)],"
                " [1e9, -1e9])")
            assert span[1] - span[0] > 600  # the pooled macro F1 is drawn across the chart
            assert page.locator("svg#performance polygon").count() >= 1  # with its interval
            retrainings = page.eval_on_selector_all("svg#triggers [data-week] rect[fill='#1b7837']",
                                                    "els => els.map(e => e.parentNode.dataset.week)")
            assert retrainings == TINY_RETRAIN_WEEKS
            assert page.locator("svg#calibration circle").count() > 3
            page.screenshot(path=str(artifacts / "lifecycle.png"), full_page=True)
        finally:
            browser.close()
    assert (artifacts / "lifecycle.png").stat().st_size > 10_000


def test_the_policy_comparison_draws_in_headless_chromium_offline(tmp_path):
    from playwright.sync_api import sync_playwright

    table, weekly = tiny_comparison()
    page_file = tmp_path / "lifecycle.html"
    page_file.write_text(tiny_page(policies=table, policies_svg=policies.comparison_svg(table, weekly, 0.75)))
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri(), wait_until="load")
            assert errors == []
            plot = page.locator("svg#policies-plot")
            box = plot.bounding_box()
            assert box and box["width"] > 600 and box["height"] > 200
            lines = page.eval_on_selector_all("svg#policies-plot path[data-policy]",
                                              "els => els.map(e => [e.dataset.policy, e.getBBox().width])")
            assert [name for name, _ in lines] == list(weekly) and all(width > 300 for _, width in lines)
            assert page.locator("svg#policies-plot circle[data-policy]").count() == len(table)
            outside = page.eval_on_selector_all(  # every word inside the chart, as the browser sets it
                "svg#policies-plot text",
                "els => { const c = els[0].ownerSVGElement.getBoundingClientRect(); return els.filter(e => {"
                " const b = e.getBoundingClientRect(); return b.width === 0 || b.left < c.left || b.right > c.right"
                " || b.top < c.top || b.bottom > c.bottom; }).map(e => e.textContent); }")
            assert outside == []
            plot.screenshot(path=str(artifacts / "policies.png"))
        finally:
            browser.close()
    assert (artifacts / "policies.png").stat().st_size > 10_000


def test_snakemake_report_carries_the_lifecycle(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "project")
    run(["snakemake", "--report", "report.html"], root)
    text = (root / "report.html").read_text()
    for caption in ("The lifecycle at a glance", "One row per week", "The backfill in figures"):
        assert caption in text, caption
    assert "Lifecycle" in text and "weeks 2022-01-16 to" in text  # the caption's Jinja saw the config
    embedded = re.search(r"data:text/html;charset=[\w-]+;filename=lifecycle\.html;base64,([A-Za-z0-9+/=]+)", text)
    assert embedded, "the lifecycle page is not in the report"
    assert base64.b64decode(embedded.group(1)) == (root / paths.LIFECYCLE_REPORT).read_bytes()
    assert "filename=weekly.csv" in text and "filename=summary.json" in text


def test_weekly_lifecycle_redraws_the_same_page_without_snakemake(backfill, tmp_path):
    root = clone(backfill[0], tmp_path / "project")
    made = (root / paths.LIFECYCLE_REPORT).read_bytes()
    (root / paths.LIFECYCLE_REPORT).unlink()
    result = run(["weekly", "lifecycle"], root)
    assert "lifecycle page -> reports/lifecycle.html" in result.stdout
    assert (root / paths.LIFECYCLE_REPORT).read_bytes() == made

    (root / paths.SUMMARY).unlink()
    failed = run(["weekly", "lifecycle"], root, check=False)
    assert failed.returncode == 1 and "run `snakemake --cores all all_weeks` first" in failed.stderr


def test_the_policy_comparison_joins_the_backfills_page(backfill, tmp_path, monkeypatch):
    from weekly.commands.command import lifecycle_page
    from weekly.config import load_params

    root = clone(backfill[0], tmp_path / "project")
    pd.DataFrame([{"policy": "every-21d", "overrides": "params.yaml as it is", "mean_macro_f1": 0.81}]).to_csv(
        root / paths.POLICIES_TABLE, index=False)
    (root / paths.POLICIES_PLOT).write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>every-21d</text></svg>')
    snakemake(root, "all_weeks")  # the rule reads the comparison once it exists
    page = (root / paths.LIFECYCLE_REPORT).read_text()
    assert 'id="policies-table"' in page and '<svg id="policies-plot"' in page

    (root / paths.POLICIES_PLOT).unlink()
    monkeypatch.chdir(root)
    assert lifecycle_page(load_params("params.yaml")) == paths.LIFECYCLE_REPORT  # as `weekly policies` does
    page = (root / paths.LIFECYCLE_REPORT).read_text()
    assert 'id="policies-table"' in page and '<svg id="policies-plot"' not in page
