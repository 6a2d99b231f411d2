import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from weekly.metrics import classification_report

CLASSES = ["Poor", "Standard", "Good"]


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    y_true = rng.choice(CLASSES, n).tolist()
    y_pred = rng.choice(CLASSES, n).tolist()
    report = classification_report(y_true, y_pred, CLASSES)
    present = [c for c in CLASSES if c in y_true or c in y_pred]
    assert report["classes_present"] == present
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=CLASSES, zero_division=0)
    for i, c in enumerate(CLASSES):
        assert report["per_class"][c]["precision"] == pytest.approx(p[i])
        assert report["per_class"][c]["recall"] == pytest.approx(r[i])
        assert report["per_class"][c]["f1"] == pytest.approx(f[i])
        assert report["per_class"][c]["support"] == s[i]
    assert report["confusion_matrix"]["matrix"] == confusion_matrix(y_true, y_pred, labels=CLASSES).tolist()
    assert report["rows"] == n


def test_a_class_absent_from_the_week_is_left_out_of_macro_f1():
    y_true, y_pred = ["Poor", "Poor", "Standard"], ["Poor", "Standard", "Standard"]
    report = classification_report(y_true, y_pred, CLASSES)
    assert report["per_class"]["Good"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["classes_present"] == ["Poor", "Standard"]
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=["Poor", "Standard"], average="macro"))


def test_a_perfect_lopsided_week_reads_one():
    report = classification_report(["Good"] * 4 + ["Poor"], ["Good"] * 4 + ["Poor"], CLASSES)
    assert report["macro_f1"] == 1.0 and report["accuracy"] == 1.0 and report["predicted_classes"] == 2


def test_a_predicted_class_absent_from_the_outcomes_still_counts():
    # predicting "Good" for a week with no Good outcome is a mistake: its F1 of 0 is averaged in
    report = classification_report(["Poor", "Poor"], ["Poor", "Good"], CLASSES)
    assert report["classes_present"] == ["Poor", "Good"]
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_an_empty_week_has_no_score():
    report = classification_report([], [], CLASSES)
    assert report["macro_f1"] is None and report["accuracy"] is None and report["rows"] == 0


def test_binary_labels():
    y_true, y_pred = ["0", "1", "1", "0"], ["0", "1", "0", "0"]
    report = classification_report(y_true, y_pred, ["0", "1"])
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert report["accuracy"] == 0.75
