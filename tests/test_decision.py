import pytest

from weekly.decision import decide, drift_trigger, performance_trigger, time_trigger, training_window, window_guard

POLICY = {
    "time": {"enabled": True, "max_days": 90},
    "performance": {"enabled": True, "metric": "macro_f1", "floor": 0.75, "max_drop": 0.1, "weeks": 1},
    "drift": {"enabled": True, "threshold": 0.25, "min_features": 1, "score_threshold": 0.25},
}


def known(tracker=None, evaluations=(), drift=None):
    return {"tracker": tracker, "evaluations": list(evaluations), "drift": drift}


def tracker(last, version="1", newest_week_psi=None):
    return {"last_retraining_date": last, "model_version": version, "model_type": "lightgbm",
            "macro_f1_score": 0.82, "auc_score": 0.93, "newest_week_psi": newest_week_psi}


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
    guard = window_guard(["Poor"] * 3 + ["Good"] * 3, 4, ["Poor", "Standard", "Good"], GUARD)
    assert not guard["passed"]
    assert guard["problems"] == ["6 training rows, fewer than train.min_rows 10",
                                 "0 training rows of class Standard, fewer than train.min_class_rows 2"]
    result = decide("2022-04-17", POLICY, known(tracker("2022-01-16")), training_window("2022-04-17", 6, 2), guard)
    assert result["reasons"] == ["time"] and result["retrain"] is False
    assert "fewer than train.min_rows 10" in result["blocked"] and result["training_window"] is None


def test_a_large_enough_window_trains():
    guard = window_guard(["Poor", "Standard", "Good"] * 4, 5, ["Poor", "Standard", "Good"], GUARD)
    assert guard["passed"] and guard["inputs"]["train_rows_per_class"] == {"Poor": 4, "Standard": 4, "Good": 4}
    result = decide("2022-04-17", POLICY, known(tracker("2022-01-16")), training_window("2022-04-17", 6, 2), guard)
    assert result["retrain"] is True and result["blocked"] is None


def test_no_validation_rows_is_no_training():
    guard = window_guard(["Poor", "Standard", "Good"] * 4, 0, ["Poor", "Standard", "Good"], GUARD)
    assert guard["problems"] == ["no labelled row in the validation weeks"]


def evaluation(week, f1, version="1", too_small=False):
    return {"week": week, "macro_f1": f1, "model_version": version, "too_small": too_small,
            "risk": {"per_class": {"a": {"auc": 0.9}, "b": {"auc": 0.8}}}}


@pytest.mark.parametrize("f1, fired", [(0.80, False), (0.74, True)])
def test_performance_under_the_floor_fires(f1, fired):
    result = performance_trigger("2022-03-06", POLICY["performance"], known(tracker("2022-01-16"), [evaluation("2022-02-27", f1)]))
    assert result["fired"] is fired and result["inputs"]["value"] == f1 and result["inputs"]["weeks"] == ["2022-02-27"]


def test_performance_far_below_the_models_own_validation_fires():
    policy = {**POLICY["performance"], "floor": 0.5}
    result = performance_trigger("2022-03-06", policy, known(tracker("2022-01-16"), [evaluation("2022-02-27", 0.71)]))
    assert result["fired"] and result["inputs"]["drop"] == pytest.approx(0.11)


def test_performance_ignores_other_models_and_small_weeks():
    seen = [evaluation("2022-02-20", 0.5, version="0"), evaluation("2022-02-27", 0.1, too_small=True)]
    result = performance_trigger("2022-03-06", POLICY["performance"], known(tracker("2022-01-16"), seen))
    assert not result["fired"] and result["inputs"]["value"] is None


def test_performance_over_several_weeks_and_on_auc():
    policy = {**POLICY["performance"], "weeks": 2, "metric": "auc", "floor": 0.9}
    seen = [evaluation("2022-02-20", 0.8), evaluation("2022-02-27", 0.8)]
    result = performance_trigger("2022-03-06", policy, known(tracker("2022-01-16"), seen))
    assert result["inputs"]["value"] == pytest.approx(0.85) and result["fired"]


def drift(features, score=0.01, version="1"):
    return {"week": "2022-02-27", "model_version": version, "features": features, "score": score}


def test_a_moved_feature_fires_the_drift_trigger():
    result = drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": 2.3, "age": 0.01})))
    assert result["fired"] and result["inputs"]["features_over"] == ["rate"]


def test_a_change_the_model_already_learned_from_does_not_fire_again():
    # retrained on a window whose newest week had already moved: the model has seen it
    learned = tracker("2022-02-27", newest_week_psi={"features": {"rate": 1.9}, "score": 0.1})
    result = drift_trigger("2022-03-06", POLICY["drift"], known(learned, drift=drift({"rate": 2.3})))
    assert not result["fired"] and result["inputs"]["max_feature_psi"] == 2.3


def test_drift_of_another_model_or_of_an_empty_week_does_not_fire():
    assert not drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": 2.3}, version="0")))["fired"]
    assert not drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": None}, score=None)))["fired"]
    assert drift_trigger("2022-03-06", POLICY["drift"], known(tracker("2022-01-16"), drift=drift({"rate": 0.0}, score=0.4)))["fired"]
