"""Calibrated probabilities and the performance estimated before the outcomes arrive.

NannyML (the reference implementation of confidence-based performance estimation) does not
install beside the project's pins (nannyml 0.13.1 requires lightgbm < 4.6; the project pins
4.7.0), so the estimate is checked against expected confusion matrices and AUCs computed
by hand, and against outcomes drawn from the probabilities themselves.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss, roc_auc_score

from helpers import TINY_OVERRIDES, make_project, merge, run, snakemake
from weekly.lifecycle import decision as decision_logic
from weekly.lifecycle import estimate as estimating
from weekly.modelling import calibration
from weekly.modelling.models import predicted_labels
from weekly.workflow.steps.evaluate import checked_estimate

BINARY = ["No", "Yes"]
THREE = ["Poor", "Standard", "Good"]


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose events happen at half the rate they say: a model to calibrate."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 8, n)
    y = (rng.random(n) < p / 2).astype(int)
    return np.column_stack([1 - p, p]), y


def test_calibration_keeps_a_binary_models_ranking_and_decisions():
    proba, y = _overconfident(3000, 1)
    fitted = calibration.fit(proba[:1500], y[:1500], BINARY)
    calibrated = calibration.apply(proba[1500:], fitted, BINARY)
    assert fitted["maps"]["Yes"]["a"] > 0
    assert roc_auc_score(y[1500:], calibrated[:, 1]) == roc_auc_score(y[1500:], proba[1500:, 1])
    assert np.allclose(calibrated.sum(axis=1), 1)
    # the predicted class is the model's own decision, on its raw probabilities
    assert (predicted_labels(proba[1500:], BINARY, 0.2) == predicted_labels(proba[1500:], BINARY, 0.2)).all()
    # on rows it was not fitted on, the calibrated probabilities say how often the event happens
    assert abs(calibrated[:, 1].mean() - y[1500:].mean()) < abs(proba[1500:, 1].mean() - y[1500:].mean()) / 3
    assert log_loss(y[1500:], calibrated[:, 1]) < log_loss(y[1500:], proba[1500:, 1])


def test_calibration_of_three_classes_sums_to_one_and_leaves_a_class_it_cannot_fit():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([2, 3, 2], 600)
    y = np.array([rng.choice(3, p=p) for p in proba])
    y[y == 2] = 1  # the validation rows hold no Good: its map is the identity
    fitted = calibration.fit(proba, y, THREE)
    assert fitted["maps"]["Good"] == calibration.IDENTITY
    calibrated = calibration.apply(proba, fitted, THREE)
    assert np.allclose(calibrated.sum(axis=1), 1) and (calibrated >= 0).all()
    assert calibration.apply(proba, None, THREE) is not None
    assert np.array_equal(calibration.apply(proba, None, THREE), proba)


def test_the_estimate_is_the_expected_confusion_matrix_worked_by_hand():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    predicted = np.array([0, 0, 1, 1])
    sums = estimating.week_sums(proba, predicted, 2)
    # predicted No: true No 0.9 + 0.6, true Yes 0.1 + 0.4; predicted Yes: true No 0.3 + 0.2, true Yes 0.7 + 0.8
    assert np.allclose(sums["mean"], [[1.5, 0.5], [0.5, 1.5]])
    f = estimating.figures(sums, BINARY, 0.9, 200, [1])
    tp_no, fp_no, fn_no = 1.5, 0.5, 0.5
    tp_yes, fp_yes, fn_yes = 1.5, 0.5, 0.5
    f1_no = 2 * tp_no / (2 * tp_no + fp_no + fn_no)
    f1_yes = 2 * tp_yes / (2 * tp_yes + fp_yes + fn_yes)
    assert f["macro_f1"]["value"] == pytest.approx((f1_no + f1_yes) / 2, abs=1e-6)
    assert f["accuracy"]["value"] == pytest.approx((0.9 + 0.6 + 0.7 + 0.8) / 4, abs=1e-6)
    # AUC of the event: each pair (positive i, negative j) weighted p_i (1 - p_j), won when s_i > s_j
    s = proba[:, 1]
    wins = sum(s[i] * (1 - s[j]) * (s[i] > s[j]) for i in range(4) for j in range(4) if i != j)
    pairs = sum(s[i] * (1 - s[j]) for i in range(4) for j in range(4) if i != j)
    assert f["auc"]["value"] == pytest.approx(wins / pairs, abs=1e-6)
    assert f["f1"]["No"]["value"] == pytest.approx(f1_no, abs=1e-6)


def test_weeks_pool_by_adding_their_sums():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([1, 2, 1], 400)
    predicted = proba.argmax(axis=1)
    whole = estimating.week_sums(proba, predicted, 3)
    parts = estimating.add([estimating.week_sums(proba[:150], predicted[:150], 3),
                            estimating.week_sums(proba[150:], predicted[150:], 3)], 3)
    assert np.allclose(whole["mean"], parts["mean"]) and np.allclose(whole["cov"], parts["cov"])
    assert estimating.figures(whole, THREE, 0.9, 100, [1]) == estimating.figures(parts, THREE, 0.9, 100, [1])


@pytest.mark.parametrize("event_rate", [0.03, 0.3])
def test_the_interval_holds_outcomes_drawn_from_calibrated_probabilities(event_rate):
    # Outcomes drawn from the probabilities are what calibration promises: the 90 % interval
    # holds the realized macro F1 and AUC in about 90 % of the weeks, and the estimate is unbiased.
    rng = np.random.default_rng(4)
    n = 1500
    p = rng.beta(1, (1 - event_rate) / event_rate * 1.0, n)
    proba = np.column_stack([1 - p, p])
    predicted = (p >= np.quantile(p, 1 - event_rate)).astype(int)
    f = estimating.figures(estimating.week_sums(proba, predicted, 2), BINARY, 0.9, 400, [5])
    f1_in = auc_in = 0
    errors = []
    draws = 300
    for _ in range(draws):
        y = (rng.random(n) < p).astype(int)
        realized = f1_score(y, predicted, average="macro")
        auc = roc_auc_score(y, p)
        errors.append(f["macro_f1"]["value"] - realized)
        f1_in += f["macro_f1"]["low"] <= realized <= f["macro_f1"]["high"]
        auc_in += f["auc"]["low"] <= auc <= f["auc"]["high"]
    assert 0.84 <= f1_in / draws <= 0.96
    assert 0.84 <= auc_in / draws <= 0.96
    assert abs(np.mean(errors)) < 0.01


def test_the_error_is_recorded_when_the_outcomes_land():
    expected = {"model_version": "3", "week_alone": {
        "rows": 100, "confidence": 0.9, "macro_f1": {"value": 0.8, "low": 0.75, "high": 0.85, "se": 0.03},
        "accuracy": {"value": 0.82, "low": 0.78, "high": 0.86, "se": 0.02},
        "auc": {"value": 0.9, "low": 0.88, "high": 0.92, "se": 0.01}}}
    realized = {"macro_f1": 0.7, "accuracy": 0.8, "risk": {"auc": 0.91}}
    got = checked_estimate(expected, realized)
    assert got["macro_f1"] == {"estimated": 0.8, "low": 0.75, "high": 0.85, "realized": 0.7,
                               "error": pytest.approx(0.1), "covered": False}
    assert got["accuracy"]["covered"] is True and got["auc"]["error"] == pytest.approx(-0.01)
    assert checked_estimate(expected, {"macro_f1": None, "accuracy": None, "risk": None})["macro_f1"]["error"] is None


def _policy(use_estimate: bool) -> dict:
    return {"enabled": True, "metric": "macro_f1", "floor": 0.75, "max_drop": 0.1, "alpha": 0.05,
            "min_single_class_rows": 30, "use_estimate": use_estimate}


def _known(estimated: float) -> dict:
    pooled = {"weeks": ["2022-03-06"], "rows": 500, "judged": True, "why_not": None,
              "expected_class_rows": {"No": 450.0, "Yes": 50.0}, "predicted_classes": ["No", "Yes"],
              "macro_f1": {"value": estimated, "low": estimated - 0.02, "high": estimated + 0.02, "se": 0.01}}
    evaluation = {"week": "2022-01-16", "model_version": "1", "pooled": {
        "weeks": ["2022-01-16"], "rows": 500, "judged": True, "single_class": False, "predicted_classes": ["No", "Yes"],
        "why_not": None, "macro_f1": {"value": 0.85, "low": 0.83, "high": 0.87, "se": 0.01}}}
    return {"tracker": {"model_version": "1", "macro_f1_score": 0.86, "validation_se": {"macro_f1": 0.01}},
            "evaluations": [evaluation], "drift": None,
            "estimate": {"week": "2022-03-06", "model_version": "1", "pooled": pooled}}


def test_the_performance_trigger_reads_the_estimate_of_pending_weeks_only_when_switched_on():
    off = decision_logic.performance_trigger("2022-03-13", _policy(False), _known(0.60))
    assert off["inputs"]["source"] == "evaluation" and off["inputs"]["evaluation"] == "2022-01-16" and not off["fired"]
    on = decision_logic.performance_trigger("2022-03-13", _policy(True), _known(0.60))
    assert on["inputs"]["source"] == "estimate" and on["inputs"]["weeks"] == ["2022-03-06"] and on["fired"]
    assert "ESTIMATED" in decision_logic.reading("performance", on)
    assert not decision_logic.performance_trigger("2022-03-13", _policy(True), _known(0.84))["fired"]
    # an estimate of another model, or one the evaluations have caught up with, is not read
    other = _known(0.60)
    other["estimate"]["model_version"] = "2"
    assert decision_logic.performance_trigger("2022-03-13", _policy(True), other)["inputs"]["source"] == "evaluation"
    caught_up = _known(0.60)
    caught_up["evaluations"][0]["week"] = "2022-03-06"
    assert decision_logic.performance_trigger("2022-03-13", _policy(True), caught_up)["inputs"]["source"] == "evaluation"


@pytest.mark.slow
def test_a_chain_with_late_outcomes_estimates_every_scored_week(tmp_path):
    root = make_project(tmp_path / "p", merge(TINY_OVERRIDES, {
        "data": {"label_delay_weeks": 3}, "retrain": {"performance": {"use_estimate": True}}}))
    snakemake(root, "--cores", "2", "all_weeks")
    weeks = sorted(p.name for p in (root / "weeks").iterdir())
    pending = weeks[-3:]
    for week in weeks:
        estimate = json.loads((root / "weeks" / week / "estimate.json").read_text())
        assert estimate["week_alone"]["macro_f1"]["low"] <= estimate["week_alone"]["macro_f1"]["high"]
        assert (root / "weeks" / week / "eval.json").exists() == (week not in pending)
    landed = json.loads((root / "weeks" / weeks[0] / "eval.json").read_text())["estimate"]
    assert landed["macro_f1"]["realized"] is not None and landed["macro_f1"]["error"] is not None
    tracker = json.loads((root / "weeks" / weeks[0] / "tracker.json").read_text())
    assert tracker["calibration"]["method"] == "platt" and tracker["calibration_check"]["calibrated"]["ece"] is not None
    decision = json.loads((root / "weeks" / weeks[-1] / "decision.json").read_text())
    assert decision["triggers"]["performance"]["inputs"]["source"] == "estimate"
    csv = (root / "reports" / "weekly.csv").read_text().splitlines()
    header = csv[0].split(",")
    last = dict(zip(header, csv[-1].split(",")))
    assert last["evaluated"] == "False" and float(last["estimated_macro_f1"]) > 0
    status = run(["weekly", "status"], root).stdout
    assert all(f"{week} ESTIMATED" in status for week in pending)
    assert "estimate-section" in (root / "reports" / "lifecycle.html").read_text()
