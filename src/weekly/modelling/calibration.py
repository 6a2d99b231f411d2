"""Calibrated probabilities: Platt scaling per class, fitted on a model's validation rows.

A gradient-boosted model's probabilities are scores: ranked well, but a week's rows given
0.30 need not default three times in ten, least of all under recency weights. The
estimate of performance before outcomes arrive (weekly.lifecycle.estimate) reads the
probabilities as probabilities, so each candidate is calibrated on its validation weeks:
for every class k, P(y = k) = sigmoid(a_k * logit(p_k) + b_k), fitted by maximum likelihood
on the rows it was not trained on, with Platt's smoothed targets. A binary model maps its
event's probability and gives the other class the rest; with more classes the maps are
renormalised to sum to 1.

Platt, not isotonic regression: with a_k > 0 the map is strictly increasing, so a binary
model's ranking, its AUC and the class it predicts at its threshold are those of the raw
model (isotonic steps tie rows and move AUC); and two parameters hold on the 5-60 rows of a
small portfolio's validation week, where a step function overfits. A slope that fits at 0
or below (a class the validation rows do not separate) leaves that class uncalibrated.
The predicted class stays the model's own decision (its argmax, or its threshold on the raw
event probability): calibration changes what the probabilities say, not what is decided.
"""
from __future__ import annotations

import numpy as np

from weekly.lifecycle.stats import logit

IDENTITY = {"a": 1.0, "b": 0.0}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))


def platt(p: np.ndarray, positive: np.ndarray, iterations: int = 50) -> dict:
    """The map sigmoid(a * logit(p) + b) fitted to `positive` (bool per row) by Newton's
    method on the log loss, with Platt's targets (N+ + 1)/(N+ + 2) and 1/(N- + 2). The
    identity when the rows hold one class only, or when the fitted slope is not positive."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return dict(IDENTITY)
    z = logit(p)
    t = np.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(iterations):
        q = _sigmoid(a * z + b)
        w = np.maximum(q * (1 - q), 1e-12)
        g = np.array([np.sum((q - t) * z), np.sum(q - t)])
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return dict(IDENTITY)
    return {"a": float(a), "b": float(b)}


def fit(proba: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    """The calibration of a model from its probabilities `proba` (rows x classes) on
    validation rows whose true classes are `y` (integers): one Platt map per class (a binary
    model: of its event, the second class), with the rows it was fitted on."""
    proba, y = np.asarray(proba, dtype=float), np.asarray(y)
    mapped = [len(classes) - 1] if len(classes) == 2 else range(len(classes))
    maps = {classes[k]: platt(proba[:, k], y == k) if len(y) else dict(IDENTITY) for k in mapped}
    return {"method": "platt", "rows": int(len(y)), "maps": maps}


def apply(proba: np.ndarray, calibration: dict | None, classes: list[str]) -> np.ndarray:
    """Calibrated probabilities (rows summing to 1) of the raw `proba`; the raw ones when
    the model has no calibration."""
    proba = np.asarray(proba, dtype=float)
    if not calibration or len(proba) == 0:
        return proba
    maps = calibration["maps"]
    if len(classes) == 2:
        m = maps[classes[1]]
        event = _sigmoid(m["a"] * logit(proba[:, 1]) + m["b"])
        return np.column_stack([1 - event, event])
    out = np.column_stack([
        _sigmoid(maps[c]["a"] * logit(proba[:, k]) + maps[c]["b"]) if c in maps else proba[:, k]
        for k, c in enumerate(classes)
    ])
    return out / out.sum(axis=1, keepdims=True)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> float | None:
    """The mean gap between the predicted probability of the predicted class and how often
    it was right, over `bins` equal-width bins of that probability, weighted by rows."""
    proba, y = np.asarray(proba, dtype=float), np.asarray(y)
    if len(y) == 0:
        return None
    confidence = proba.max(axis=1)
    right = proba.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in np.unique(which):
        at = which == b
        gap += at.sum() * abs(confidence[at].mean() - right[at].mean())
    return float(gap / len(y))
