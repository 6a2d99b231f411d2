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
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=CLASSES, average="macro", zero_division=0))
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=CLASSES, zero_division=0)
    for i, c in enumerate(CLASSES):
        assert report["per_class"][c]["precision"] == pytest.approx(p[i])
        assert report["per_class"][c]["recall"] == pytest.approx(r[i])
        assert report["per_class"][c]["f1"] == pytest.approx(f[i])
        assert report["per_class"][c]["support"] == s[i]
    assert report["confusion_matrix"]["matrix"] == confusion_matrix(y_true, y_pred, labels=CLASSES).tolist()
    assert report["rows"] == n


def test_absent_class_counts_as_zero_like_scikit_learn():
    y_true, y_pred = ["Poor", "Poor", "Standard"], ["Poor", "Standard", "Standard"]
    report = classification_report(y_true, y_pred, CLASSES)
    assert report["per_class"]["Good"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=CLASSES, average="macro", zero_division=0))


def test_binary_labels():
    y_true, y_pred = ["0", "1", "1", "0"], ["0", "1", "0", "0"]
    report = classification_report(y_true, y_pred, ["0", "1"])
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert report["accuracy"] == 0.75
