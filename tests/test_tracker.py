from weekly.lifecycle.tracker import after_retraining, carry_over

ORIGINAL_FIELDS = {"last_retraining_date", "model_name", "model_version", "model_type", "macro_f1_score", "registration_date"}


def registered_state():
    winner = {"algo": "catboost", "valid_metrics": {"macro_f1": 0.81}, "model_path": "models/2022-01-16/catboost/model.cbm", "model_sha256": "ab" * 32,
              "window": ["2021-12-26", "2022-01-02", "2022-01-09"]}
    selection = {"winner": "catboost", "scores": {"lightgbm": 0.8, "catboost": 0.81}}
    registration = {"model_name": "credit-scoring", "version": "3", "model_uri": "models:/credit-scoring/3",
                    "alias": "champion", "registration_key": "0123456789abcdef"}
    return after_retraining("2022-01-16", winner, selection, registration)


def test_after_retraining_holds_the_original_tracker_fields_and_the_model_path():
    state = registered_state()
    assert ORIGINAL_FIELDS <= set(state)
    assert state["last_retraining_date"] == "2022-01-16"
    assert state["model_version"] == "3" and state["model_type"] == "catboost"
    assert state["macro_f1_score"] == 0.81
    assert state["model_path"].endswith("model.cbm") and state["model_uri"] == "models:/credit-scoring/3"
    assert state["retrained"] is True and state["model_alias"] == "champion" and state["trained_until"] == "2022-01-09"
    assert state["registration_key"] == "0123456789abcdef"


def test_carry_over_keeps_the_serving_model_and_marks_the_week():
    before = registered_state()
    state = carry_over(before, "2022-01-23")
    assert state["week"] == "2022-01-23" and state["retrained"] is False
    for key in ORIGINAL_FIELDS | {"model_path", "model_uri"}:
        assert state[key] == before[key]
    assert before["week"] == "2022-01-16"  # the input is not mutated


def test_a_decision_on_evidence_starts_a_new_epoch_even_when_the_model_stays():
    from weekly.lifecycle.tracker import carry_over, epoch

    serving = {"week": "2022-03-06", "model_version": "2", "last_retraining_date": "2022-02-06", "retrained": False}
    assert epoch(serving) == "2022-02-06"  # a tracker of before epochs: its last retraining
    quiet = carry_over(serving, "2022-03-13")
    timed = carry_over(serving, "2022-03-13", "challenger kept out: no fair comparison", ["time"])
    found = carry_over(serving, "2022-03-13", "challenger kept out: not better", ["time", "drift"])
    assert epoch(quiet) == epoch(timed) == "2022-02-06"
    assert epoch(found) == "2022-03-13" and epoch(carry_over(found, "2022-03-20")) == "2022-03-13"
