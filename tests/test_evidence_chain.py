"""The evidence windows on real chains (Snakemake, the real steps): a 5-row-a-week portfolio
starts and is judged, a stationary rare-event portfolio of 60-row weeks rarely fires, and
the default data's rate shock is still caught in time.

Slow (a minute or two each) but run in CI; benchmarks/false_alarms.py measures the same on
155 weeks for the README's table.
"""
from __future__ import annotations

import json

import pytest

from helpers import make_project, snakemake

# The project's own params.yaml, undoing the tiny configuration's shortcuts that matter here
DEFAULTS = {"train": {"window_weeks": 20, "max_window_weeks": 52, "valid_weeks": 1, "challenger": {"enabled": True},
                      "lightgbm": {"num_iterations": 150}, "catboost": {"iterations": 150}},
            "retrain": {"time": {"max_days": 90}}}
BINARY = {"classes": ["No", "Yes"]}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def chain_files(root, name):
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((root / "weeks").glob(f"*/{name}"))}


@pytest.mark.slow
def test_a_portfolio_of_five_rows_a_week_starts_and_is_judged(tmp_path):
    root = make_project(tmp_path / "small", merge(DEFAULTS, {
        "end": "2022-09-25", "week": "2022-09-25",
        "data": {"rows_per_week": 5, "columns": BINARY, "generator": {"drift": False, "event_rate": 0.2}}}))
    snakemake(root, "all_weeks")
    decisions, trackers = chain_files(root, "decision.json"), chain_files(root, "tracker.json")
    evaluations = chain_files(root, "eval.json")
    first = decisions["2022-01-16"]
    # 20 weeks of 5 rows are too few: the first window extends back into the history
    assert first["retrain"] and first["training_window"]["extended"]
    assert first["guard"]["inputs"]["train_rows"] >= 100 and len(first["training_window"]["weeks"]) > 20
    assert len(trackers) == 37 and all(t["model_version"] for t in trackers.values())
    assert all(e["too_small"] for e in evaluations.values())  # no week is judged alone...
    judged = [e for e in evaluations.values() if e["pooled"]["judged"]]
    assert len(judged) >= 10  # ...but their evidence windows are
    for e in judged:
        pooled = e["pooled"]
        assert len(pooled["weeks"]) > 1 and pooled["rows"] >= 60 and pooled["class_rows"]["Yes"] >= 10
        assert pooled["macro_f1"]["low"] <= pooled["macro_f1"]["value"] <= pooled["macro_f1"]["high"]
        assert not pooled["single_class"], e["week"]
    assert all(t.get("threshold") is not None for t in trackers.values())  # binary: a decision threshold serves
    page = (root / "reports" / "lifecycle.html").read_text()
    assert judged[-1]["pooled"]["first_week"] in page


@pytest.mark.slow
def test_a_stationary_rare_event_portfolio_rarely_fires(tmp_path):
    root = make_project(tmp_path / "stationary", merge(DEFAULTS, {
        "end": "2022-10-30", "week": "2022-10-30",
        "data": {"rows_per_week": 60, "columns": BINARY, "generator": {"drift": False, "event_rate": 0.03}},
        "retrain": {"performance": {"floor": None}}}))
    snakemake(root, "all_weeks")
    decisions, trackers = chain_files(root, "decision.json"), chain_files(root, "tracker.json")
    later = [d for w, d in decisions.items() if w != "2022-01-16"]
    fired = [d["week"] for d in later if d["triggers"]["performance"]["fired"] or d["triggers"]["drift"]["fired"]]
    assert len(later) == 41
    assert len(fired) <= (0.05 + 0.02) * len(later), fired
    calendar = 1 + 41 * 7 // 90
    assert sum(t["retrained"] for t in trackers.values()) <= calendar + 2
    # the drift test was judged (pooled to 100 applications: 2 weeks) and says so
    judged = [d for d in later if d["triggers"]["drift"]["inputs"]["judged"]]
    assert len(judged) >= 30 and all(len(d["triggers"]["drift"]["inputs"]["weeks"]) >= 2 for d in judged)


@pytest.mark.slow
def test_the_rate_shock_is_still_caught_in_time(tmp_path):
    root = make_project(tmp_path / "shock", merge(DEFAULTS, {
        "start": "2023-01-01", "end": "2023-04-30", "week": "2023-04-30", "data": {"rows_per_week": 1500}}))
    snakemake(root, "all_weeks")
    decisions, evaluations = chain_files(root, "decision.json"), chain_files(root, "eval.json")
    after = [d for w, d in decisions.items() if "2023-03-05" < w <= "2023-03-19"]
    assert any(d["triggers"]["performance"]["fired"] or d["triggers"]["drift"]["fired"] for d in after)
    under = [w for w, e in evaluations.items() if w >= "2023-03-05" and e["macro_f1"] < 0.75]
    assert len(under) <= 2, under
