"""Classification metrics in plain numpy (the weekly steps must not import scikit-learn)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix: rows are true classes, columns predicted ones, in `classes` order."""
    index = {c: i for i, c in enumerate(classes)}
    t = np.array([index[v] for v in y_true], dtype=np.int64)
    p = np.array([index[v] for v in y_pred], dtype=np.int64)
    k = len(classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # An undefined ratio (0/0) counts as 0, as scikit-learn's zero_division=0.
    return np.divide(num, den, out=np.zeros(len(num), dtype=float), where=den > 0)


def classification_report(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> dict:
    """Macro F1, accuracy, per-class precision/recall/F1/support and the confusion matrix.

    Macro F1 averages over the classes present in the week, in its outcomes or its
    predictions (`classes_present`): a class absent from both says nothing about the
    model, and counting it as F1 = 0 would make a perfect week read 0.5. Like
    scikit-learn's f1_score(labels=present, average="macro", zero_division=0). With no
    rows, macro F1 and accuracy are None.
    """
    cm = confusion(y_true, y_pred, classes)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * tp, support + predicted)
    present = (support + predicted) > 0
    total = int(cm.sum())
    return {
        "macro_f1": float(f1[present].mean()) if total else None,
        "accuracy": float(tp.sum() / total) if total else None,
        "rows": total,
        "classes_present": [c for c, p in zip(classes, present) if p],
        "predicted_classes": int((predicted > 0).sum()),
        "per_class": {
            c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, c in enumerate(classes)
        },
        "confusion_matrix": {"labels": list(classes), "matrix": cm.tolist()},
    }


def _ranks(values: np.ndarray) -> np.ndarray:
    # Average ranks (1-based) with ties sharing their mean rank, as the Mann-Whitney U needs.
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values))
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)  # each tie group's mean rank
    return ranks


def auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve of `score` for the boolean `positive`; None without both kinds."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _ranks(score.astype(float))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ks(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Kolmogorov-Smirnov statistic: the largest gap between the score's distributions
    of positives and negatives; None without both kinds."""
    if positive.all() or not positive.any():
        return None
    thresholds = np.unique(score)
    pos = np.searchsorted(np.sort(score[positive]), thresholds, side="right") / positive.sum()
    neg = np.searchsorted(np.sort(score[~positive]), thresholds, side="right") / (~positive).sum()
    return float(np.max(np.abs(pos - neg)))


def calibration(positive: np.ndarray, proba: np.ndarray, bins: int = 10) -> list[dict]:
    """Rows of equal-width probability bins: count, mean predicted probability, observed rate
    (the bins of scikit-learn's calibration_curve: a probability on an edge goes below it)."""
    index = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], proba)
    table = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        table.append({
            "bin": [b / bins, (b + 1) / bins],
            "count": n,
            "mean_predicted": float(proba[inside].mean()) if n else None,
            "observed_rate": float(positive[inside].mean()) if n else None,
        })
    return table


def risk_report(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> dict:
    """Credit-risk figures of class probabilities against outcomes.

    One-vs-rest AUC and Gini (2 AUC - 1) per class (None for a class the week lacks or
    holds alone); for a binary problem also AUC, Gini and KS of the second class (the
    event, e.g. a default); Brier score (binary: of the event; multi-class: summed over
    classes) and log loss; a calibration table per class (binary: of the event).
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in y_true], dtype=np.int64)
    proba = np.asarray(proba, dtype=float).reshape(len(y), len(classes))
    onehot = np.eye(len(classes), dtype=bool)[y] if len(y) else np.zeros((0, len(classes)), dtype=bool)
    per_class = {}
    for i, c in enumerate(classes):
        a = auc(onehot[:, i], proba[:, i])
        per_class[c] = {"auc": a, "gini": None if a is None else 2 * a - 1}
    binary = len(classes) == 2
    result = {"per_class": per_class, "brier": None, "log_loss": None, "calibration": {}}
    if len(y):
        squared = (proba - onehot) ** 2
        result["brier"] = float(squared[:, 1].mean() if binary else squared.sum(axis=1).mean())
        result["log_loss"] = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)).mean())
    for i in ([1] if binary else range(len(classes))):
        result["calibration"][classes[i]] = calibration(onehot[:, i], proba[:, i]) if len(y) else []
    if binary:
        event = classes[1]
        result.update({"event": event, "auc": per_class[event]["auc"], "gini": per_class[event]["gini"],
                       "ks": ks(onehot[:, 1], proba[:, 1]) if len(y) else None})
    return result


def class_mix(labels_: Sequence[str], classes: Sequence[str]) -> dict:
    """The share of each class among `labels_` (predictions or outcomes)."""
    n = len(labels_)
    return {c: (sum(1 for v in labels_ if v == c) / n if n else None) for c in classes}


def macro_auc(risk: dict) -> float | None:
    """The mean one-vs-rest AUC over the classes that have one (binary: the event's AUC)."""
    if "auc" in risk:
        return risk["auc"]
    values = [r["auc"] for r in risk["per_class"].values() if r["auc"] is not None]
    return float(sum(values) / len(values)) if values else None
