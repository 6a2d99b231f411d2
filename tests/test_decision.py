import pytest

from weekly.decision import decide, time_trigger, training_window, window_guard

POLICY = {"time": {"enabled": True, "max_days": 90}}


def tracker(last):
    return {"last_retraining_date": last, "model_version": "1", "model_type": "lightgbm"}


def test_first_week_takes_the_initial_training_path():
    result = decide("2022-01-16", POLICY, None, None, training_window("2022-01-16", 6, 2))
    assert result["retrain"] is True
    assert result["reasons"] == ["initial"]
    assert result["triggers"]["time"]["fired"] is False
    assert result["triggers"]["time"]["inputs"]["last_retraining_date"] is None


@pytest.mark.parametrize("week, days, fired", [("2022-04-10", 84, False), ("2022-04-16", 90, True), ("2022-04-17", 91, True)])
def test_time_trigger_boundary(week, days, fired):
    # 2022-01-16 + 90 days = 2022-04-16: the trigger fires at 90 days, not before.
    result = time_trigger(week, POLICY["time"], tracker("2022-01-16"), None)
    assert result["inputs"]["days_since_last_retraining"] == days
    assert result["threshold"] == {"max_days": 90}
    assert result["fired"] is fired


def test_89_days_does_not_retrain():
    result = time_trigger("2022-04-15", POLICY["time"], tracker("2022-01-16"), None)
    assert result["inputs"]["days_since_last_retraining"] == 89
    assert result["fired"] is False


def test_decision_records_each_trigger_and_the_window():
    result = decide("2022-04-17", POLICY, tracker("2022-01-16"), {"week": "2022-04-10", "macro_f1": 0.7}, training_window("2022-04-17", 6, 2))
    assert result["retrain"] is True and result["reasons"] == ["time"]
    assert set(result["triggers"]) == {"initial", "time"}
    for trig in result["triggers"].values():
        assert {"enabled", "inputs", "threshold", "fired"} <= set(trig)
    window = result["training_window"]
    assert window["weeks"][-1] == "2022-04-10"
    assert window["valid_weeks"] == ["2022-04-03", "2022-04-10"]
    assert window["train_weeks"] + window["valid_weeks"] == window["weeks"]


def test_no_retraining_within_the_period():
    result = decide("2022-02-13", POLICY, tracker("2022-01-16"), None, training_window("2022-02-13", 6, 2))
    assert result["retrain"] is False and result["reasons"] == []
    assert result["training_window"] is None


def test_disabled_time_trigger_never_fires():
    policy = {"time": {"enabled": False, "max_days": 90}}
    result = decide("2023-01-15", policy, tracker("2022-01-16"), None, training_window("2023-01-15", 6, 2))
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
    result = decide("2022-04-17", POLICY, tracker("2022-01-16"), None, training_window("2022-04-17", 6, 2), guard)
    assert result["reasons"] == ["time"] and result["retrain"] is False
    assert "fewer than train.min_rows 10" in result["blocked"] and result["training_window"] is None


def test_a_large_enough_window_trains():
    guard = window_guard(["Poor", "Standard", "Good"] * 4, 5, ["Poor", "Standard", "Good"], GUARD)
    assert guard["passed"] and guard["inputs"]["train_rows_per_class"] == {"Poor": 4, "Standard": 4, "Good": 4}
    result = decide("2022-04-17", POLICY, tracker("2022-01-16"), None, training_window("2022-04-17", 6, 2), guard)
    assert result["retrain"] is True and result["blocked"] is None


def test_no_validation_rows_is_no_training():
    guard = window_guard(["Poor", "Standard", "Good"] * 4, 0, ["Poor", "Standard", "Good"], GUARD)
    assert guard["problems"] == ["no labelled row in the validation weeks"]
