"""Evidence windows (weekly.lifecycle.evidence), the pooled drift test (weekly.lifecycle.drift) and the decision
threshold (weekly.modelling.models.choose_threshold), checked against scipy and scikit-learn."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from weekly.lifecycle import drift, evidence
from weekly.modelling.models import choose_threshold, predicted_labels

MINIMUMS = {"min_rows": 200, "min_class_rows": 10, "max_weeks": 26, "across_versions": False,
            "confidence": 0.95, "resamples": 300}


def week(name, rows, events, epoch="2022-01-16"):
    return {"week": name, "rows": rows, "class_rows": {"No": rows - events, "Yes": events}, "epoch": epoch}


def test_a_large_week_is_its_own_window():
    assert evidence.pool_weeks([week("2023-01-08", 1500, 45), week("2023-01-01", 1500, 45)], ["No", "Yes"],
                               MINIMUMS) == ["2023-01-08"]


def test_small_weeks_pool_back_until_enough_rows_and_events():
    weeks = [week(f"w{i:02d}", 60, 2) for i in range(30)]
    # 200 rows take 4 weeks, 10 events 5 weeks
    assert evidence.pool_weeks(weeks, ["No", "Yes"], MINIMUMS) == [f"w{i:02d}" for i in range(5)]


def test_a_window_stops_at_the_last_retraining_decision_and_at_max_weeks():
    weeks = [week("w0", 60, 2), week("w1", 60, 2), week("w2", 60, 2, epoch="2021-12-26"), week("w3", 60, 2, epoch="2021-12-26")]
    assert evidence.pool_weeks(weeks, ["No", "Yes"], MINIMUMS) == ["w0", "w1"]
    assert evidence.pool_weeks(weeks, ["No", "Yes"], {**MINIMUMS, "across_versions": True}) == ["w0", "w1", "w2", "w3"]
    assert evidence.pool_weeks(weeks, ["No", "Yes"], {**MINIMUMS, "max_weeks": 1}) == ["w0"]


def test_enough_says_what_is_missing():
    assert evidence.enough(250, {"No": 245, "Yes": 5}, MINIMUMS) == \
        "5 of class Yes, fewer than evaluate.min_class_rows 10"
    assert evidence.enough(250, {"No": 240, "Yes": 10}, MINIMUMS) is None


def sample(n, seed=3, events=0.1):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < events).astype(np.int64)
    p = np.clip(0.1 + 0.5 * y + rng.normal(0, 0.2, n), 0.001, 0.999)
    proba = np.column_stack([1 - p, p])
    pred = (p >= 0.4).astype(np.int64)
    return y, pred, proba


def test_pooled_figures_match_scikit_learn_and_scipy():
    y, pred, proba = sample(800)
    figures = evidence.pooled_figures(y, pred, proba, ["No", "Yes"], ["w1", "w0"], MINIMUMS, [1, 2])
    assert figures["macro_f1"]["value"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert figures["auc"]["value"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert figures["accuracy"]["value"] == pytest.approx(accuracy_score(y, pred))
    ci = scipy_stats.binomtest(int((y == pred).sum()), len(y)).proportion_ci(0.95, method="wilson")
    assert (figures["accuracy"]["low"], figures["accuracy"]["high"]) == pytest.approx((ci.low, ci.high))
    assert figures["macro_f1"]["low"] < figures["macro_f1"]["value"] < figures["macro_f1"]["high"]
    assert figures["auc"]["low"] < figures["auc"]["value"] < figures["auc"]["high"]
    assert figures["judged"] and figures["first_week"] == "w0" and figures["last_week"] == "w1"
    assert not figures["single_class"]
    # deterministic for its seed
    again = evidence.pooled_figures(y, pred, proba, ["No", "Yes"], ["w1", "w0"], MINIMUMS, [1, 2])
    assert again["macro_f1"] == figures["macro_f1"]


def test_one_class_predicted_over_a_window_holding_both_is_a_finding():
    y, _, proba = sample(400)
    figures = evidence.pooled_figures(y, np.zeros_like(y), proba, ["No", "Yes"], ["w0"], MINIMUMS, [1])
    assert figures["single_class"] and figures["predicted_classes"] == ["No"]
    none_yet = evidence.pooled_figures(np.zeros(300, dtype=np.int64), np.zeros(300, dtype=np.int64),
                                       np.column_stack([np.ones(300), np.zeros(300)]), ["No", "Yes"], ["w0"], MINIMUMS, [1])
    assert not none_yet["single_class"] and not none_yet["judged"]
    assert "0 of class Yes" in none_yet["why_not"]


def test_below_is_a_one_sided_bound_at_alpha():
    z = scipy_stats.norm.ppf(0.95)
    assert evidence.below({"value": 0.70, "se": 0.02}, 0.70 + z * 0.02 + 1e-6, 0.05)
    assert not evidence.below({"value": 0.70, "se": 0.02}, 0.70 + z * 0.02 - 1e-6, 0.05)
    assert not evidence.below({"value": None, "se": None}, 0.75, 0.05)


def test_a_drop_is_significant_beyond_both_errors():
    result = evidence.significant_drop({"value": 0.60, "se": 0.03}, {"value": 0.82, "se": 0.04}, 0.10, 0.05)
    assert result["drop"] == pytest.approx(0.22)
    assert result["z"] == pytest.approx(0.12 / 0.05)
    assert result["significant"] is bool(0.12 / 0.05 > scipy_stats.norm.ppf(0.95))
    assert not evidence.significant_drop({"value": 0.70, "se": 0.05}, {"value": 0.82, "se": 0.04}, 0.10, 0.05)["significant"]


def reference_and_week(n_ref, n_week, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    ref_frame = pd.DataFrame({"x": rng.normal(size=n_ref), "c": rng.choice(list("abc"), n_ref)})
    week_frame = pd.DataFrame({"x": rng.normal(shift, 1, n_week), "c": rng.choice(list("abc"), n_week)})
    columns = {"numeric": ["x"], "categorical": ["c"]}
    ref = drift.reference(ref_frame, columns, rng.uniform(size=n_ref))
    return ref, week_frame, rng.uniform(size=n_week)


def test_counts_add_up_over_weeks_to_the_counts_of_the_rows_together():
    ref, frame, score = reference_and_week(5000, 300)
    halves = [drift.counts(ref, frame.iloc[:100], score[:100]), drift.counts(ref, frame.iloc[100:], score[100:])]
    assert drift.add_counts(halves) == drift.counts(ref, frame, score)
    whole = drift.counts(ref, frame, score)
    assert sum(whole["features"]["x"]) == 300 and whole["rows"] == 300


def test_psi_of_pooled_counts_matches_the_weekly_psi():
    ref, frame, score = reference_and_week(5000, 2000)
    counts = drift.counts(ref, frame, score)
    test = drift.shift_test(ref["features"]["x"]["shares"], ref["rows"], counts["features"]["x"], 0.05, 0.1, [1])
    # no missing value: the known-value PSI is the week's PSI
    assert test["psi"] == pytest.approx(drift.stability(ref, frame, score)["features"]["x"])


def test_no_change_is_not_significant_and_a_shift_is():
    policy = {"alpha": 0.05, "threshold": 0.1, "score_threshold": 0.1, "missing_margin": 0.05}
    ref, frame, score = reference_and_week(20000, 400)
    quiet = drift.pooled_drift(ref, drift.counts(ref, frame, score), policy, [7])
    assert not quiet["features"]["x"]["moved"] and not quiet["features"]["c"]["moved"]
    ref, frame, score = reference_and_week(20000, 400, shift=1.0)
    moved = drift.pooled_drift(ref, drift.counts(ref, frame, score), policy, [7])
    assert moved["features"]["x"]["moved"] and moved["features"]["x"]["critical_method"] == "simulated"
    assert not moved["features"]["c"]["moved"]
    # the test is shared out: alpha / (features + score)
    assert moved["tests"] == 3


def test_the_false_alarm_rate_of_the_pooled_test_is_alpha_whatever_the_size():
    # 400 no-change weeks of 60 and of 1,500 rows: the share flagged significant at alpha stays near alpha
    rng = np.random.default_rng(11)
    shares = np.full(10, 0.1)
    for n in (60, 1500):
        flagged = 0
        for i in range(400):
            current = [*rng.multinomial(n, shares).tolist(), 0]
            test = drift.shift_test([*shares.tolist(), 0.0], 200_000, current, 0.05, 0.0, [i])
            flagged += test["significant"]
        assert abs(flagged / 400 - 0.05) < 0.03, (n, flagged)


def test_a_feature_turning_missing_is_a_finding():
    assert drift.missing_finding([0.5, 0.48, 0.02], [100, 60, 140], 0.05, 0.05)["finding"]
    assert not drift.missing_finding([0.5, 0.48, 0.02], [150, 145, 5], 0.05, 0.05)["finding"]


def test_the_threshold_maximises_validation_macro_f1():
    y, _, proba = sample(500, seed=5, events=0.05)
    t = choose_threshold(y == 1, proba[:, 1], {"method": "macro_f1", "event_rate": None})
    best = max(f1_score(y, (proba[:, 1] >= c).astype(int), average="macro") for c in np.unique(proba[:, 1]))
    chosen = f1_score(y, (proba[:, 1] >= t).astype(int), average="macro")
    assert chosen == pytest.approx(best)
    labels = predicted_labels(proba, ["No", "Yes"], t)
    assert ((labels == "Yes") == (proba[:, 1] >= t)).all()


def test_the_threshold_to_an_event_rate_flags_that_share():
    y, _, proba = sample(1000, seed=6)
    t = choose_threshold(y == 1, proba[:, 1], {"method": "event_rate", "event_rate": 0.2})
    assert (proba[:, 1] >= t).mean() == pytest.approx(0.2, abs=0.002)
