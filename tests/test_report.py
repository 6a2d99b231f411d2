import pytest

from weekly.report import summarise, weekly_rows


def week(name, f1, version, algo, retrained):
    tracker = {"week": name, "model_version": version, "model_type": algo, "retrained": retrained}
    evaluation = {"week": name, "macro_f1": f1, "accuracy": f1 + 0.05, "rows": 100}
    return tracker, evaluation


WEEKS = [
    week("2022-01-16", 0.80, "1", "lightgbm", True),
    week("2022-01-23", 0.70, "1", "lightgbm", False),
    week("2022-01-30", 0.90, "2", "catboost", True),
]


def test_rows_and_summary():
    rows = weekly_rows([t for t, _ in WEEKS], [e for _, e in WEEKS])
    assert rows["week"].tolist() == ["2022-01-16", "2022-01-23", "2022-01-30"]
    assert rows["retrained"].tolist() == [True, False, True]
    summary = summarise(rows)
    assert summary["weeks"] == 3 and summary["retrains"] == 2
    assert summary["mean_macro_f1"] == pytest.approx(0.8)
    assert (summary["worst_macro_f1"], summary["worst_week"]) == (0.70, "2022-01-23")
    assert summary["wins"] == {"catboost": 1, "lightgbm": 1}
    assert (summary["last_week"], summary["last_week_model_version"], summary["last_week_macro_f1"]) == ("2022-01-30", "2", 0.90)


def test_mismatched_weeks_are_an_error():
    trackers = [t for t, _ in WEEKS]
    evaluations = [e for _, e in reversed(WEEKS)]
    with pytest.raises(ValueError, match="paired with the evaluation of week"):
        weekly_rows(trackers, evaluations)
