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


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> float | None:
    """Macro F1 over the classes present (see classification_report)."""
    return classification_report(y_true, y_pred, classes)["macro_f1"]
