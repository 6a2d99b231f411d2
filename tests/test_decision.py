import pytest

from weekly.lifecycle.decision import (decide, drift_trigger, fitted_window, performance_trigger, time_trigger,
                             training_window, window_guard)

POLICY = {
    "time": {"enabled": True, "max_days": 90},
    "performance": {"enabled": True, "metric": "macro_f1", "floor": 0.75, "max_drop": 0.1, "alpha": 0.05,
                    "min_single_class_rows": 30},
    "drift": {"enabled": True, "threshold": 0.1, "min_features": 1, "score_threshold": 0.1, "alpha": 0.05,
              "min_rows": 300},
}


def known(tracker=None, evaluations=(), drift=None):
    return {"tracker": tracker, "evaluations": list(evaluations), "drift": drift}


def tracker(last, version="1"):
    return {"last_retraining_date": last, "model_version": version, "model_type": "lightgbm",
            "macro_f1_score": 0.82, "auc_score": 0.93, "validation_se": {"macro_f1": 0.01, "auc": 0.01}}


def test_first_week_takes_the_initial_training_path():
    result = decide("2022-01-16", POLICY, known(), training_window("2022-01-16", 6, 2))
    assert result["retrain"] is True
    assert result["reasons"] == ["initial"]
    assert result["triggers"]["time"]["fired"] is False
    assert result["triggers"]["time"]["inputs"]["last_retraining_date"] is None


@pytest.mark.parametrize("week, days, fired", [("2022-04-10", 84, False), ("2022-04-16", 90, True), ("2022-04-17", 91, True)])
def test_time_trigger_boundary(week, days, fired):
    # 2022-01-16 + 90 days = 2022-04-16: the trigger fires at 90 days, not before.
    result = time_trigger(week, POLICY["time"], known(tracker("2022-01-16")))
    assert result["inputs"]["days_since_last_retraining"] == days
    assert result["threshold"] == {"max_days": 90}
    assert result["fired"] is fired


def test_89_days_does_not_retrain():
    result = time_trigger("2022-04-15", POLICY["time"], known(tracker("2022-01-16")))
    assert result["inputs"]["days_since_last_retraining"] == 89
    assert result["fired"] is False


def test_decision_records_each_trigger_and_the_window():
    result = decide("2022-04-17", POLICY, known(tracker("2022-01-16")), training_window("2022-04-17", 6, 2))
    assert result["retrain"] is True and result["reasons"] == ["time"]
    assert set(result["triggers"]) == {"initial", "time", "performance", "drift"}
    for trig in result["triggers"].values():
        assert {"enabled", "inputs", "threshold", "fired"} <= set(trig)
    window = result["training_window"]
    assert window["weeks"][-1] == "2022-04-10"
    assert window["valid_weeks"] == ["2022-04-03", "2022-04-10"]
    assert window["train_weeks"] + window["valid_weeks"] == window["weeks"]


def test_no_retraining_within_the_period():
    result = decide("2022-02-13", POLICY, known(tracker("2022-01-16")), training_window("2022-02-13", 6, 2))
    assert result["retrain"] is False and result["reasons"] == []
    assert result["training_window"] is None


def test_disabled_time_trigger_never_fires():
    policy = {**POLICY, "time": {"enabled": False, "max_days": 90}}
    result = decide("2023-01-15", policy, known(tracker("2022-01-16")), training_window("2023-01-15", 6, 2))
    assert result["triggers"]["time"]["enabled"] is False
    assert result["retrain"] is False


def test_training_window_never_contains_the_week():
    window = training_window("2022-01-16", 20, 4)
    assert len(window["weeks"]) == 20 and "2022-01-16" not in window["weeks"]
    assert len(window["valid_weeks"]) == 4 and window["valid_weeks"] == window["weeks"][-4:]


def test_with_a_label_delay_the_window_ends_at_the_newest_labelled_week():
    window = training_window("2022-04-17", 6, 2, label_delay_weeks=4)
    # outcomes of 2022-03-13 are known at the end of 2022-04-10, so from 2022-04-17 on
    assert window["weeks"][-1] == "2022-03-13" and len(window["weeks"]) == 6
    assert window["valid_weeks"] == ["2022-03-06", "2022-03-13"]


GUARD = {"min_rows": 10, "min_class_rows": 2}


def test_a_small_window_keeps_the_serving_model():
    guard = window_guard({"Poor": 3, "Standard": 0, "Good": 3}, 4, GUARD)
    assert not guard["passed"]
    assert guard["problems"] == ["6 training rows, fewer than train.min_rows 10",
                                 "0 training rows of class Standard, fewer than train.min_class_rows 2"]
    result = decide("2022-04-17", POLICY, known(tracker("2022-01-16")), training_window("2022-04-17", 6, 2), guard)
    assert result["reasons"] == ["time"] and result["retrain"] is False
    assert "fewer than train.min_rows 10" in result["blocked"] and result["training_window"] is None


def test_a_large_enough_window_trains():
    guard = window_guard({"Poor": 4, "Standard": 4, "Good": 4}, 5, GUARD)
    assert guard["passed"] and guard["inputs"]["train_rows_per_class"] == {"Poor": 4, "Standard": 4, "Good": 4}
    result = decide("2022-04-17", POLICY, known(tracker("2022-01-16")), training_window("2022-04-17", 6, 2), guard)
    assert result["retrain"] is True and result["blocked"] is None


def test_no_validation_rows_is_no_training():
    guard = window_guard({"Poor": 4, "Standard": 4, "Good": 4}, 0, GUARD)
    assert guard["problems"] == ["no labelled row in the validation weeks"]


EVIDENCE = {"min_rows": 200, "min_class_rows": 10}


def weeks_of(rows, events, n=60, first="2022-12-25"):
    import datetime as dt

    day = dt.date.fromisoformat(first)
    return [{"week": (day - dt.timedelta(days=7 * i)).isoformat(), "rows": rows, "class_rows": {"No": rows - events, "Yes": events}}
            for i in range(n)]


def test_large_weeks_keep_the_configured_window():
    window = fitted_window(weeks_of(1500, 45), 20, 1, ["No", "Yes"], {"min_rows": 100, "min_class_rows": 5}, EVIDENCE)
    assert len(window["weeks"]) == 20 and len(window["valid_weeks"]) == 1 and not window["extended"]
    assert window["weeks"][-1] == "2022-12-25" and window["weeks"] == sorted(window["weeks"])
    assert window["valid_enough"]


def test_small_weeks_extend_validation_and_training_back():
    # 30 rows and 1 event a week: validation takes 10 weeks for the 10 events of the evidence minimum
    window = fitted_window(weeks_of(30, 1), 20, 1, ["No", "Yes"], {"min_rows": 100, "min_class_rows": 5}, EVIDENCE)
    assert len(window["valid_weeks"]) == 10 and window["valid_enough"]
    assert len(window["train_weeks"]) == 10 and not window["extended"]
    # 5 rows and 1 event a week: validation stops at half the 60 weeks (150 rows, short of 200); training
    # extends back until it holds 100 rows
    window = fitted_window(weeks_of(5, 1), 20, 1, ["No", "Yes"], {"min_rows": 100, "min_class_rows": 5}, EVIDENCE)
    assert len(window["valid_weeks"]) == 30 and not window["valid_enough"]
    assert len(window["train_weeks"]) == 20 and window["extended"]
    assert window["weeks"] == sorted(window["weeks"]) and window["valid_weeks"] == window["weeks"][-30:]


def evaluation(week, f1, se=0.01, version="1", judged=True, single=False, rows=400):
    return {"week": week, "model_version": version, "too_small": False,
            "pooled": {"weeks": [week], "rows": rows, "judged": judged, "why_not": None if judged else "too few",
                       "macro_f1": {"value": f1, "se": se, "low": f1 - 2 * se, "high": f1 + 2 * se},
                       "auc": {"value": 0.9, "se": 0.01, "low": 0.88, "high": 0.92},
                       "single_class": single, "predicted_classes": ["No"] if single else ["No", "Yes"]}}


@pytest.mark.parametrize("f1, se, fired", [(0.80, 0.01, False), (0.74, 0.001, True), (0.74, 0.05, False), (0.70, 0.02, True)])
def test_performance_fires_only_when_below_the_floor_beyond_sampling_error(f1, se, fired):
    result = performance_trigger("2022-03-06", POLICY["performance"],
                                 known(tracker("2022-01-16"), [evaluation("2022-02-27", f1, se)]))
    assert result["fired"] is fired and result["inputs"]["value"] == f1 and result["inputs"]["weeks"] == ["2022-02-27"]
    # the one-sided bound at alpha 0.05: value + 1.645 se
    assert result["inputs"]["below_floor"] is (f1 + 1.6448536 * se < 0.75)


def test_performance_far_below_the_models_own_validation_fires_when_significant():
    policy = {**POLICY["performance"], "floor": None}
    clear = performance_trigger("2022-03-06", policy, known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.68, 0.01)]))
    assert clear["fired"] and clear["inputs"]["drop"] == pytest.approx(0.14)
    noisy = performance_trigger("2022-03-06", policy, known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.68, 0.05)]))
    assert not noisy["fired"] and noisy["inputs"]["drop"] == pytest.approx(0.14)


def test_performance_ignores_other_models_and_windows_not_judged():
    other = performance_trigger("2022-03-06", POLICY["performance"],
                                known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.1, version="0")]))
    assert not other["fired"] and other["inputs"]["value"] is None
    small = performance_trigger("2022-03-06", POLICY["performance"],
                                known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.1, judged=False)]))
    assert not small["fired"] and small["inputs"]["why_not"] == "too few"


def test_a_model_predicting_one_class_over_a_window_holding_both_fires():
    seen = [evaluation("2022-02-27", 0.9, single=True)]
    assert performance_trigger("2022-03-06", POLICY["performance"], known(tracker("2022-01-16"), seen))["fired"]
    few = [evaluation("2022-02-27", 0.9, single=True, rows=20)]
    assert not performance_trigger("2022-03-06", POLICY["performance"], known(tracker("2022-01-16"), few))["fired"]


def test_performance_on_auc():
    policy = {**POLICY["performance"], "metric": "auc", "floor": 0.95}
    result = performance_trigger("2022-03-06", policy, known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.8)]))
    assert result["inputs"]["value"] == 0.9 and result["fired"]


def shift(psi, critical, significant=None):
    return {"psi": psi, "critical": critical, "significant": psi > critical if significant is None else significant,
            "moved": False}


def drift(features, score=(0.01, 0.05), version="1", judged=True, seen=None):
    return {"week": "2022-02-27", "model_version": version,
            "pooled": {"weeks": ["2022-02-27"], "rows": 400, "judged": judged, "why_not": None if judged else "few",
                       "features": {f: shift(*v) for f, v in features.items()}, "score": shift(*score)},
            "seen": seen}


def test_a_significant_and_material_shift_fires_the_drift_trigger():
    result = drift_trigger("2022-03-06", POLICY["drift"],
                           known(tracker("2022-01-16"), drift=drift({"rate": (2.3, 0.05), "age": (0.01, 0.05)})))
    assert result["fired"] and result["inputs"]["features_over"] == ["rate"]


def test_a_significant_but_trivial_shift_does_not_fire():
    # a huge portfolio: PSI 0.02 is beyond sampling error but under the magnitude floor 0.1
    result = drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": (0.02, 0.001)})))
    assert not result["fired"] and result["inputs"]["features"]["rate"]["significant"]


def test_a_large_psi_within_sampling_error_does_not_fire():
    # a small sample: PSI 0.4 under its critical value 0.6
    result = drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": (0.4, 0.6)})))
    assert not result["fired"]


def test_a_change_the_model_already_learned_from_does_not_fire_again():
    seen = {"features": {"rate": shift(1.9, 0.05)}, "score": shift(0.01, 0.05)}
    result = drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-02-27"), drift=drift({"rate": (2.3, 0.05)}, seen=seen)))
    assert not result["fired"] and result["inputs"]["already_seen"] == ["rate"]


def test_drift_of_another_model_or_not_judged_does_not_fire():
    assert not drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": (2.3, 0.05)}, version="0")))["fired"]
    assert not drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": (2.3, 0.05)}, judged=False)))["fired"]
    assert drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": (0.0, 0.05)}, score=(0.4, 0.05))))["fired"]
