import pytest

from weekly.reporting.report import summarise, summary_line, week_line, weekly_rows


def week(name, f1, version, algo, retrained, rows=100, too_small=False, pooled_f1=None, judged=None):
    tracker = {"week": name, "model_version": version, "model_type": algo, "retrained": retrained}
    pooled_f1 = f1 if pooled_f1 is None else pooled_f1
    judged = not too_small if judged is None else judged
    evaluation = {"week": name, "macro_f1": f1, "accuracy": None if f1 is None else f1 + 0.05, "rows": rows,
                  "applications": rows, "too_small": too_small, "model_version": version, "model_type": algo,
                  "risk": {"per_class": {"Poor": {"auc": None if f1 is None else f1 + 0.1}, "Good": {"auc": None}}},
                  "pooled": {"weeks": [name], "rows": rows, "judged": judged,
                             "macro_f1": {"value": pooled_f1, "se": 0.01, "low": pooled_f1 and pooled_f1 - 0.02,
                                          "high": pooled_f1 and pooled_f1 + 0.02}}}
    return tracker, evaluation


WEEKS = [
    week("2022-01-16", 0.80, "1", "lightgbm", True),
    week("2022-01-23", 0.70, "1", "lightgbm", False),
    week("2022-01-30", 0.90, "2", "catboost", True),
]


def test_rows_and_summary():
    rows = weekly_rows([t for t, _ in WEEKS], {e["week"]: e for _, e in WEEKS})
    assert rows["week"].tolist() == ["2022-01-16", "2022-01-23", "2022-01-30"]
    assert rows["retrained"].tolist() == [True, False, True]
    summary = summarise(rows)
    assert summary["weeks"] == 3 and summary["retrains"] == 2 and summary["judged_weeks"] == 3
    assert summary["judged_alone_weeks"] == 3 and summary["mean_pooled_macro_f1"] == pytest.approx(0.8)
    assert rows["pooled_low"].tolist() == pytest.approx([0.78, 0.68, 0.88])
    assert summary["mean_macro_f1"] == pytest.approx(0.8)
    assert (summary["worst_macro_f1"], summary["worst_week"]) == (0.70, "2022-01-23")
    assert summary["wins"] == {"catboost": 1, "lightgbm": 1}
    # every configured candidate is listed, so that the metrics' keys stay put across experiments
    assert summarise(rows, ["lightgbm", "catboost", "hist_gradient_boosting"])["wins"] == {
        "catboost": 1, "hist_gradient_boosting": 0, "lightgbm": 1}
    assert rows["auc"].tolist() == pytest.approx([0.9, 0.8, 1.0])  # the mean over the classes that have one
    assert (summary["mean_auc"], summary["worst_auc"]) == (pytest.approx(0.9), pytest.approx(0.8))
    assert (summary["last_week"], summary["last_week_model_version"], summary["last_week_macro_f1"]) == ("2022-01-30", "2", 0.90)


def test_small_weeks_and_weeks_awaiting_outcomes_stay_out_of_the_mean_and_worst():
    weeks = [*WEEKS, week("2022-02-06", 0.0, "2", "catboost", False, rows=3, too_small=True),
             week("2022-02-13", None, "2", "catboost", False, rows=0, too_small=True)]
    trackers = [t for t, _ in weeks] + [{"week": "2022-02-20", "model_version": "2", "model_type": "catboost",
                                         "retrained": False}]
    rows = weekly_rows(trackers, {e["week"]: e for _, e in weeks})
    summary = summarise(rows)
    assert summary["mean_macro_f1"] == pytest.approx(0.8) and summary["worst_week"] == "2022-01-23"
    assert (summary["too_small_weeks"], summary["awaiting_outcomes"], summary["evaluated_weeks"]) == (2, 1, 5)
    assert summary["last_evaluated_week"] == "2022-02-13" and summary["last_week"] == "2022-02-20"
    assert summary["judged_weeks"] == 3 and summary["worst_pooled_week"] == "2022-01-23"
    assert "2 weeks too small to judge alone (3 judged through their evidence windows, mean pooled macro F1 " \
           "0.8000), 1 weeks awaiting outcomes" in summary_line(summary)
    assert rows["evaluated"].tolist() == [True] * 5 + [False]


def test_small_weeks_are_judged_through_their_evidence_windows():
    # five-row weeks: none judged alone, each judged through its pooled window
    weeks = [week(f"2022-01-{d}", 1.0, "1", "lightgbm", d == 16, rows=5, too_small=True, pooled_f1=f1, judged=True)
             for d, f1 in ((16, 0.71), (23, 0.66), (30, 0.69))]
    summary = summarise(weekly_rows([t for t, _ in weeks], {e["week"]: e for _, e in weeks}))
    assert summary["judged_alone_weeks"] == 0 and summary["mean_macro_f1"] is None
    assert summary["judged_weeks"] == 3 and summary["mean_pooled_macro_f1"] == pytest.approx(0.6867, abs=1e-4)
    assert (summary["worst_pooled_macro_f1"], summary["worst_pooled_week"]) == (0.66, "2022-01-23")


def test_an_evaluation_without_a_tracker_is_an_error():
    with pytest.raises(ValueError, match="evaluation of week 2022-01-30 has no tracker"):
        weekly_rows([t for t, _ in WEEKS[:2]], {e["week"]: e for _, e in WEEKS})


def test_week_lines_say_what_happened():
    decision = {"retrain": False, "reasons": ["time"]}
    tracker, evaluation = week("2022-02-06", 0.0, "2", "catboost", False, rows=3, too_small=True)
    line = week_line(decision, tracker, evaluation)
    assert line.startswith("2022-02-06  kept (time)") and "too small to judge" in line
    tracker, empty = week("2022-02-13", None, "2", "catboost", False, rows=0, too_small=True)
    assert "no outcome on 0 rows" in week_line({"retrain": False, "reasons": []}, tracker, empty)
    tracker, evaluation = week("2022-02-20", 0.8, "3", "catboost", True)
    assert week_line({"retrain": True, "reasons": ["initial"]}, tracker, evaluation).startswith("2022-02-20  retrain (initial)")
