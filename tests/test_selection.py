import pytest

from weekly.lifecycle.selection import select


def cand(algo, f1, predicted_classes=3):
    return {"algo": algo, "valid_rows": 24, "valid_metrics": {"macro_f1": f1, "predicted_classes": predicted_classes}}


def test_best_validation_macro_f1_wins_and_both_scores_are_kept():
    result = select([cand("lightgbm", 0.70), cand("catboost", 0.72)], ["lightgbm", "catboost"])
    assert result["winner"] == "catboost"
    assert result["scores"] == {"lightgbm": 0.70, "catboost": 0.72}
    assert result["tie"] is False


@pytest.mark.parametrize("order", [["lightgbm", "catboost"], ["catboost", "lightgbm"]])
def test_tie_goes_to_the_first_listed_algorithm_whatever_the_input_order(order):
    for candidates in ([cand("lightgbm", 0.7), cand("catboost", 0.7)], [cand("catboost", 0.7), cand("lightgbm", 0.7)]):
        result = select(candidates, order)
        assert result["winner"] == order[0]
        assert result["tie"] is True


def test_single_candidate():
    assert select([cand("catboost", 0.5)], ["lightgbm", "catboost"])["winner"] == "catboost"


def test_no_candidate_is_an_error():
    with pytest.raises(ValueError):
        select([], ["lightgbm"])


def test_a_candidate_predicting_one_class_is_never_promoted():
    # It tied (or even beat) the other on a lopsided validation set: still not promoted.
    result = select([cand("lightgbm", 0.49, predicted_classes=1), cand("catboost", 0.45)], ["lightgbm", "catboost"])
    assert result["winner"] == "catboost"
    assert result["excluded"] == {"lightgbm": "predicts one class for all 24 validation rows"}
    assert result["scores"]["lightgbm"] == 0.49


def test_no_eligible_candidate_means_no_winner():
    result = select([cand("lightgbm", 0.49, predicted_classes=1)], ["lightgbm"])
    assert result["winner"] is None and set(result["excluded"]) == {"lightgbm"}
