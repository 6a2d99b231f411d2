"""Segments and the protected-attribute comparison (weekly.lifecycle.fairness): group labels, per-group
figures worked by hand and against scikit-learn and scipy, and `compare` against fairlearn's
MetricFrame, demographic_parity_ratio and equalized_odds_difference."""
import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
)
from scipy import stats as sps
from sklearn.metrics import f1_score, roc_auc_score

from weekly.lifecycle import fairness, stats


def wilson_bounds(k, n):
    return tuple(sps.binomtest(k, n).proportion_ci(0.95, method="wilson"))


def test_labels_of_values_whole_floats_and_missing():
    values = pd.Series([3.0, 2.5, np.nan, 10.0], index=[7, 8, 9, 10])
    labels = fairness.groups(values, None)
    assert labels.tolist() == ["3", "2.5", "(missing)", "10"]
    assert labels.index.tolist() == [7, 8, 9, 10]
    assert fairness.groups(pd.Series(["north", None, "south"]), None).tolist() == ["north", "(missing)", "south"]
    assert fairness.groups(pd.Series([1, 2], dtype="Int64").reindex([0, 1, 2]), None).tolist() == ["1", "2", "(missing)"]


def test_labels_of_numeric_bands_are_left_closed():
    ages = pd.Series([18, 24.9, 25, 34.9, 35, 49, 50, 80, None])
    assert fairness.groups(ages, [25, 35, 50]).tolist() == [
        "<25", "<25", "25-35", "25-35", "35-50", "35-50", ">=50", ">=50", "(missing)"]
    assert fairness.groups(pd.Series([0.2, 0.5, 1.0]), [0.5, 1.0]).tolist() == ["<0.5", "0.5-1", ">=1"]
    with pytest.raises(ValueError):
        fairness.groups(ages, [35, 25])
    with pytest.raises(ValueError):
        fairness.groups(ages, [])


CLASSES = ["No", "Yes"]  # adverse = 1 (a default)


def segments():
    group = pd.Series(["A"] * 6 + ["B"] * 4)
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0])
    pred = np.array([0, 1, 1, 0, 0, 1, 0, 0, 1, 1])
    p_adverse = np.array([0.1, 0.6, 0.8, 0.4, 0.2, 0.9, 0.3, 0.1, 0.7, 0.5])
    band = np.array([2, 2, 2, 2, 2, 2, 0, 1, 2, 0])
    training = {"A": [100, 100, 100], "B": [50, 30, 20], "C": [5, 5, 5]}
    return group, y, pred, np.column_stack([1 - p_adverse, p_adverse]), band, training


def test_segment_figures_by_hand():
    group, y, pred, proba, band, training = segments()
    out = fairness.segment_figures(group, y, pred, proba, CLASSES, 1, band, training, 0.95, 200, 0.05, [7])
    assert list(out) == ["A", "B", "C"]
    a, b = out["A"], out["B"]
    assert (a["rows"], a["events"], b["rows"], b["events"]) == (6, 3, 4, 1)
    assert a["event_rate"]["value"] == 0.5
    assert (a["event_rate"]["low"], a["event_rate"]["high"]) == pytest.approx(wilson_bounds(3, 6))
    assert b["approval_rate"]["value"] == 0.5  # predictions 0, 0, 1, 1
    assert (b["approval_rate"]["low"], b["approval_rate"]["high"]) == pytest.approx(wilson_bounds(2, 4))
    assert a["macro_f1"]["value"] == pytest.approx(f1_score(y[:6], pred[:6], average="macro"))
    assert a["macro_f1"] == stats.bootstrap_macro_f1(y[:6], pred[:6], 2, 200, [7, 0], 0.95)
    assert b["macro_f1"] == stats.bootstrap_macro_f1(y[6:], pred[6:], 2, 200, [7, 1], 0.95)
    assert a["auc"]["value"] == pytest.approx(roc_auc_score(y[:6], proba[:6, 1]))
    assert b["auc"]["value"] == pytest.approx(roc_auc_score(y[6:], proba[6:, 1]))
    assert b["auc"]["se"] is None  # a single default in B: DeLong's variance is undefined
    # B's bands now 2/4, 1/4, 1/4 against training 0.5, 0.3, 0.2
    expected = sum((x - e) * math.log(x / e) for e, x in zip([0.5, 0.3, 0.2], [0.5, 0.25, 0.25]))
    assert b["psi"] == pytest.approx(expected)
    assert b["psi_critical"] == stats.psi_critical([0.5, 0.3, 0.2], 4, 100, 0.05, seed=[7, 1, 1])
    assert b["training_rows"] == 100 and not b["psi_moved"]
    # A's six rows all in the riskiest band against thirds at training: moved beyond chance
    assert a["psi"] > a["psi_critical"] == stats.psi_critical([1 / 3] * 3, 6, 300, 0.05, seed=[7, 0, 1])
    assert a["psi_moved"]
    # beyond chance but under the magnitude floor (retrain.drift.score_threshold): not moved
    floored = fairness.segment_figures(group, y, pred, proba, CLASSES, 1, band, training, 0.95, 200, 0.05, [7],
                                       psi_floor=a["psi"] + 0.01)["A"]
    assert floored["psi"] == a["psi"] and not floored["psi_moved"]


def test_a_segment_with_no_rows_now_and_no_training_counts():
    group, y, pred, proba, band, training = segments()
    out = fairness.segment_figures(group, y, pred, proba, CLASSES, 1, band, training, 0.95, 50, 0.05, [7])
    c = out["C"]
    assert c["rows"] == 0 and c["events"] == 0 and c["training_rows"] == 15
    assert c["event_rate"] == c["approval_rate"] == {"value": None, "low": None, "high": None}
    assert c["macro_f1"]["value"] is None and c["auc"]["value"] is None
    assert (c["psi"], c["psi_critical"], c["psi_moved"]) == (None, None, False)
    untrained = fairness.segment_figures(group, y, pred, proba, CLASSES, 1, band, None, 0.95, 50, 0.05, [7])
    assert list(untrained) == ["A", "B"]
    assert untrained["A"]["psi"] is None and not untrained["A"]["psi_moved"]
    assert untrained["A"]["training_rows"] is None


def test_segment_figures_of_three_classes():
    rng = np.random.default_rng(3)
    y = np.tile([0, 1, 2], 10)
    proba = rng.dirichlet([1, 1, 1], size=30)
    pred = proba.argmax(axis=1)
    group = pd.Series(["x"] * 30)
    out = fairness.segment_figures(group, y, pred, proba, ["Poor", "Standard", "Good"], 0,
                                   np.zeros(30, dtype=int), None, 0.95, 50, 0.05, [1])
    assert out["x"]["events"] == 10 and out["x"]["approval_rate"]["value"] == np.mean(pred != 0)
    assert out["x"]["macro_f1"]["value"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert out["x"]["auc"]["value"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))


def portfolio(seed=4):
    rng = np.random.default_rng(seed)
    group = pd.Series(rng.choice(["a", "b", "c"], size=400, p=[0.5, 0.3, 0.2]))
    bad = rng.uniform(size=400) < np.where(group == "c", 0.4, 0.2)
    flagged = rng.uniform(size=400) < np.where(bad, 0.7, np.where(group == "b", 0.3, 0.1))
    return group, bad, flagged


def test_compare_matches_fairlearn():
    group, bad, flagged = portfolio()
    out = fairness.compare(group, bad, flagged, 0.95, (0.8, 1.25))
    frame = MetricFrame(
        metrics={"approval": lambda t, p: selection_rate(t, p, pos_label=0),  # share not predicted adverse
                 "fpr": lambda t, p: false_positive_rate(t, p, pos_label=1),
                 "fnr": lambda t, p: false_negative_rate(t, p, pos_label=1)},
        y_true=bad.astype(int), y_pred=flagged.astype(int), sensitive_features=group)
    assert list(out["groups"]) == ["a", "b", "c"]
    for name, row in frame.by_group.iterrows():
        mine = out["groups"][name]
        assert mine["rows"] == int((group == name).sum())
        assert mine["approval_rate"]["value"] == pytest.approx(row["approval"])
        assert mine["false_positive_rate"]["value"] == pytest.approx(row["fpr"])
        assert mine["false_negative_rate"]["value"] == pytest.approx(row["fnr"])
    assert out["overall"]["approval_rate"]["value"] == pytest.approx(frame.overall["approval"])
    assert out["overall"]["false_positive_rate"]["value"] == pytest.approx(frame.overall["fpr"])
    # fairlearn's ratio to overall is min(r, 1/r), its difference |group - overall|, worst group
    ratios = [g["approval_ratio"]["value"] for g in out["groups"].values()]
    assert frame.ratio(method="to_overall")["approval"] == pytest.approx(min(min(r, 1 / r) for r in ratios))
    difference = frame.difference(method="to_overall")
    assert difference["fpr"] == pytest.approx(max(abs(g["fpr_difference"]) for g in out["groups"].values()))
    assert difference["fnr"] == pytest.approx(max(abs(g["fnr_difference"]) for g in out["groups"].values()))
    assert out["approval_ratio_between"] == pytest.approx(
        demographic_parity_ratio(bad.astype(int), (~flagged).astype(int), sensitive_features=group))
    assert out["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(bad.astype(int), flagged.astype(int), sensitive_features=group))
    b = out["groups"]["b"]
    assert (b["false_positive_rate"]["low"], b["false_positive_rate"]["high"]) == pytest.approx(
        wilson_bounds(int((flagged & ~bad & (group == "b")).sum()), int((~bad & (group == "b")).sum())))
    assert out["band"] == [0.8, 1.25] and out["confidence"] == 0.95


def with_ratio(rows):
    """A group approved 3 in 10 and the rest 8 in 10: ratio to overall 0.3 / 0.55, at any size."""
    group = pd.Series(["g"] * rows + ["rest"] * rows)
    flagged = np.concatenate([np.arange(rows) % 10 >= 3, np.arange(rows) % 10 >= 8])
    return group, np.zeros(2 * rows, dtype=bool), flagged


def test_a_low_ratio_is_outside_the_band_on_many_rows_and_not_on_ten():
    many = fairness.compare(*with_ratio(1000), 0.95, (0.8, 1.25))
    few = fairness.compare(*with_ratio(10), 0.95, (0.8, 1.25))
    assert many["groups"]["g"]["approval_ratio"]["value"] == pytest.approx(0.3 / 0.55)
    assert few["groups"]["g"]["approval_ratio"]["value"] == pytest.approx(0.3 / 0.55)
    assert many["groups"]["g"]["approval_ratio"]["high"] < 0.8
    assert many["groups_outside"] == ["g", "rest"]  # the rest, at 0.8 / 0.55, is above 1.25 too
    assert few["groups"]["g"]["approval_ratio"]["high"] > 0.8
    assert few["groups_outside"] == []


def test_the_ratio_interval_covers_at_its_level():
    rng = np.random.default_rng(5)
    n_g, n_r, p_g, p_r = 200, 800, 0.6, 0.7
    truth = p_g / ((n_g * p_g + n_r * p_r) / (n_g + n_r))
    covered = 0
    for x_g, x_r in zip(rng.binomial(n_g, p_g, 2000), rng.binomial(n_r, p_r, 2000)):
        interval = fairness._ratio(int(x_g), n_g, int(x_r), n_r, 0.95)
        covered += interval["low"] <= truth <= interval["high"]
    assert 0.93 <= covered / 2000 <= 0.97


def test_compare_of_empty_and_degenerate_groups():
    empty = fairness.compare(pd.Series([], dtype=object), np.array([], bool), np.array([], bool), 0.95, (0.8, 1.25))
    assert empty["groups"] == {} and empty["groups_outside"] == []
    assert empty["overall"]["approval_rate"]["value"] is None
    assert empty["approval_ratio_between"] is None and empty["equalized_odds_difference"] is None
    # group "z" has no adverse outcomes (no FNR) and nobody in it approved (ratio 0)
    group = pd.Series(["y"] * 6 + ["z"] * 3)
    bad = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0], bool)
    flagged = np.array([1, 0, 0, 0, 1, 0, 1, 1, 1], bool)
    out = fairness.compare(group, bad, flagged, 0.95, (0.8, 1.25))
    z = out["groups"]["z"]
    assert z["false_negative_rate"]["value"] is None and z["fnr_difference"] is None
    assert z["approval_ratio"]["value"] == 0.0 and z["approval_ratio"]["low"] == 0.0
    assert out["approval_ratio_between"] == 0.0
    assert out["equalized_odds_difference"] == pytest.approx(1.0 - 1 / 4)  # FPR 1/4 in y, 1 in z
    alone = fairness.compare(pd.Series(["y"] * 6), bad[:6], flagged[:6], 0.95, (0.8, 1.25))
    assert alone["groups"]["y"]["approval_ratio"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    nobody = fairness.compare(group, bad, np.ones(9, bool), 0.95, (0.8, 1.25))
    assert nobody["groups"]["y"]["approval_ratio"]["value"] is None and nobody["groups_outside"] == []


def test_a_small_groups_psi_is_judged_against_its_own_critical_value():
    # nothing changed: 6 rows drawn from the training shares of 10 bands. The simulated critical
    # value fires about alpha of the time; the asymptotic one, made for large groups, far more often.
    rng = np.random.default_rng(3)
    shares = np.full(10, 0.1)
    critical = stats.psi_critical(shares, 6, 1000, 0.05, seed=1)
    draws = [stats.psi(shares.tolist(), (rng.multinomial(6, shares) / 6).tolist()) for _ in range(2000)]
    simulated = np.mean(np.asarray(draws) > critical)
    asymptotic = np.mean(np.asarray(draws) > stats.psi_critical_asymptotic(6, 1000, 10, 0.05))
    assert simulated <= 0.08 and asymptotic > 0.2
