import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from weekly.lifecycle.metrics import classification_report

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


def random_week(seed, classes, n=None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(20, 200))
    y = rng.choice(classes, n).tolist()
    logits = rng.normal(size=(n, len(classes))) + 1.5 * np.eye(len(classes))[[classes.index(v) for v in y]]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("classes", [CLASSES, ["No", "Yes"]])
def test_risk_figures_match_scikit_learn(seed, classes):
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

    from weekly.lifecycle.metrics import risk_report

    y, proba = random_week(seed, classes)
    proba = np.round(proba, 2)  # ties in the scores
    proba = proba / proba.sum(axis=1, keepdims=True)
    report = risk_report(y, proba, classes)
    for i, c in enumerate(classes):
        positive = np.array([v == c for v in y])
        assert report["per_class"][c]["auc"] == pytest.approx(roc_auc_score(positive, proba[:, i]))
        assert report["per_class"][c]["gini"] == pytest.approx(2 * roc_auc_score(positive, proba[:, i]) - 1)
    order = np.argsort(classes)  # scikit-learn takes the probability columns in sorted label order
    assert report["log_loss"] == pytest.approx(log_loss(y, proba[:, order], labels=sorted(classes)))
    if len(classes) == 2:
        event = np.array([v == "Yes" for v in y])
        assert report["brier"] == pytest.approx(brier_score_loss(event, proba[:, 1]))
        fpr, tpr, _ = roc_curve(event, proba[:, 1])
        assert report["ks"] == pytest.approx(np.max(tpr - fpr))
        observed, predicted = calibration_curve(event, proba[:, 1], n_bins=10, strategy="uniform")
        table = [row for row in report["calibration"]["Yes"] if row["count"]]
        np.testing.assert_allclose([r["observed_rate"] for r in table], observed)
        np.testing.assert_allclose([r["mean_predicted"] for r in table], predicted)
    else:
        onehot = np.array([[v == c for c in classes] for v in y], dtype=float)
        assert report["brier"] == pytest.approx(((proba - onehot) ** 2).sum(axis=1).mean())


def test_a_class_the_week_lacks_has_no_auc():
    from weekly.lifecycle.metrics import risk_report

    report = risk_report(["Poor", "Good"], np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]), CLASSES)
    assert report["per_class"]["Standard"] == {"auc": None, "gini": None}
    assert report["per_class"]["Poor"]["auc"] == 1.0
