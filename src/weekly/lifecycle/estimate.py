"""Performance estimated before the outcomes arrive: confidence-based performance estimation.

If a model's probabilities are calibrated, row i's true class is a draw from its
probabilities p_i. Then, for the classes the model predicted, the confusion matrix a week
will show once its outcomes land has an expectation and a spread that the probabilities
alone give (the method NannyML calls CBPE):

- expected counts: predicted j, true k: the sum of p_ik over the rows predicted j;
- their covariance: the sum of diag(p_i) - p_i p_i' over those rows (each row one
  categorical draw);
- for the AUC of class k: the rows binned by their probability of k (400 narrow bins of
  its log-odds), with the expected events (sum of p_ik) in each bin, and the sum of
  p_ik (1 - p_ik) (a row paired with itself, which no outcome can be).

All of them are sums over rows, so they pool over weeks by addition, as the evaluation's
evidence windows pool outcomes. Expected macro F1, accuracy and per-class F1 come from the
expected matrix; AUC from the expected events per bin, taken as positives and the rest as
negatives (the binned ROC). The interval is where the realized figure falls under that
draw: the matrix and the bins drawn from their normal approximations, seeded, the figure
computed on each draw (a bin's events drawn binomial, its rows sharing their mean
probability).

Blind spot: the estimate trusts the probabilities. Inputs that move (covariate shift)
move the probabilities and the estimate with them; a change in how outcomes follow from
unchanged inputs (concept drift, P(y|x)) leaves the probabilities, and the estimate, where
they were: only the outcomes show it.
"""
from __future__ import annotations

import warnings

import numpy as np

from weekly.lifecycle import stats

# Bins of a class's probability for the AUC, equal on the log-odds scale: a rare event's
# probabilities (0.005-0.1) spread over many of them.
EDGES = np.concatenate([[-np.inf], np.linspace(-8.0, 8.0, 401), [np.inf]])


def week_sums(proba: np.ndarray, predicted: np.ndarray, k: int) -> dict:
    """The sums a week's estimate is made of (see the module): `proba` the calibrated
    probabilities (rows x k classes), `predicted` the predicted class of each row (0..k-1)."""
    proba = np.asarray(proba, dtype=float).reshape(-1, k)
    predicted = np.asarray(predicted, dtype=np.int64)
    mean = np.zeros((k, k))
    cov = np.zeros((k, k, k))
    for j in range(k):
        p = proba[predicted == j]
        mean[j] = p.sum(axis=0)
        cov[j] = np.diag(mean[j]) - p.T @ p
    bins = []
    for c in range(k):
        which = np.searchsorted(EDGES, stats.logit(proba[:, c]), side="right") - 1
        n = np.bincount(which, minlength=len(EDGES) - 1)
        s = np.bincount(which, weights=proba[:, c], minlength=len(EDGES) - 1)
        v = np.bincount(which, weights=proba[:, c] * (1 - proba[:, c]), minlength=len(EDGES) - 1)
        used = np.flatnonzero(n)
        bins.append({"bin": used.tolist(), "rows": n[used].tolist(), "events": s[used].round(9).tolist(),
                     "self": v[used].round(9).tolist()})
    return {"rows": int(len(proba)), "mean": mean.tolist(), "cov": cov.tolist(), "bins": bins}


def add(parts: list[dict], k: int) -> dict:
    """The sums of several weeks (week_sums) as one."""
    mean, cov = np.zeros((k, k)), np.zeros((k, k, k))
    nb = len(EDGES) - 1
    n, s, v = np.zeros((k, nb)), np.zeros((k, nb)), np.zeros((k, nb))
    for part in parts:
        mean += np.asarray(part["mean"], dtype=float).reshape(k, k)
        cov += np.asarray(part["cov"], dtype=float).reshape(k, k, k)
        for c, b in enumerate(part["bins"]):
            idx = np.asarray(b["bin"], dtype=np.int64)
            np.add.at(n[c], idx, b["rows"])
            np.add.at(s[c], idx, b["events"])
            np.add.at(v[c], idx, b["self"])
    bins = []
    for c in range(k):
        used = np.flatnonzero(n[c])
        bins.append({"bin": used.tolist(), "rows": n[c][used].astype(int).tolist(), "events": s[c][used].tolist(),
                     "self": v[c][used].tolist()})
    return {"rows": int(sum(p["rows"] for p in parts)), "mean": mean.tolist(), "cov": cov.tolist(), "bins": bins}


def expected_class_rows(sums: dict, classes: list[str]) -> dict[str, float]:
    """Expected rows of each true class."""
    mean = np.asarray(sums["mean"], dtype=float).reshape(len(classes), len(classes))
    return {c: float(v) for c, v in zip(classes, mean.sum(axis=0))}


def _f1s(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F1 and accuracy of confusion matrices (..., predicted, true); their macro
    F1 is stats.macro_f1_from_confusions', over the classes present as the evaluation's."""
    tp = np.diagonal(matrix, axis1=-2, axis2=-1)
    predicted = matrix.sum(axis=-1)
    true = matrix.sum(axis=-2)
    denominator = predicted + true
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    total = matrix.sum(axis=(-2, -1))
    accuracy = np.divide(tp.sum(axis=-1), total, out=np.zeros_like(total), where=total > 0)
    return f1, accuracy


def _auc(events: np.ndarray, rows: np.ndarray, self_pairs: np.ndarray | float = 0.0) -> np.ndarray:
    """AUC of binned scores (bins in increasing score order, last axis) with `events`
    positives out of `rows` in each: ties within a bin count a half. With expected events,
    `self_pairs` (the sum of p (1 - p)) takes out each row paired with itself, which no
    outcome can be."""
    negatives = rows - events
    p, n = events.sum(axis=-1), negatives.sum(axis=-1)
    below = np.cumsum(negatives, axis=-1) - negatives  # negatives in lower bins
    wins = (events * (below + 0.5 * negatives)).sum(axis=-1) - 0.5 * np.sum(self_pairs)
    pairs = p * n - np.sum(self_pairs)
    return np.divide(wins, pairs, out=np.full(np.shape(p), np.nan), where=(p > 0) & (n > 0) & (pairs > 0))


def figures(sums: dict, classes: list[str], confidence: float, resamples: int, seed) -> dict:
    """Expected macro F1, accuracy, per-class F1 and AUC (binary: of the event; else the
    mean one-vs-rest AUC of the classes) of the rows in `sums`, each with the interval
    holding `confidence` of the realized figure's draws (`resamples` draws, seeded)."""
    k = len(classes)
    if sums["rows"] == 0:
        return {"rows": 0}
    mean = np.asarray(sums["mean"], dtype=float).reshape(k, k)
    cov = np.asarray(sums["cov"], dtype=float).reshape(k, k, k)
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, k, k))
    for j in range(k):
        draws[:, j, :] = rng.multivariate_normal(mean[j], cov[j], size=resamples, method="eigh")
    draws = np.clip(draws, 0, None)
    f1, accuracy = _f1s(mean)
    f1_draws, accuracy_draws = _f1s(draws)
    low_q, high_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2

    def figure(value, spread) -> dict:
        spread = spread[np.isfinite(spread)]
        if not np.isfinite(value) or not len(spread):
            return {"value": None, "low": None, "high": None}
        return {"value": round(float(value), 6), "low": round(float(np.quantile(spread, low_q)), 6),
                "high": round(float(np.quantile(spread, high_q)), 6), "se": round(float(np.std(spread)), 6)}

    aucs, auc_draws = [], []
    for c in ([1] if k == 2 else range(k)):
        b = sums["bins"][c]
        rows, events = (np.asarray(b[key], dtype=float) for key in ("rows", "events"))
        aucs.append(_auc(events, rows, np.asarray(b["self"], dtype=float)))
        drawn = rng.binomial(rows.astype(np.int64), np.clip(events / rows, 0, 1), size=(resamples, len(rows))).astype(float)
        auc_draws.append(_auc(drawn, rows))
    finite = [i for i, a in enumerate(aucs) if np.isfinite(a)]
    auc_value = float(np.mean([aucs[i] for i in finite])) if finite else np.nan
    with warnings.catch_warnings():  # a draw with no event of a class has no AUC of it
        warnings.simplefilter("ignore", RuntimeWarning)
        auc_spread = np.nanmean(np.vstack([auc_draws[i] for i in finite]), axis=0) if finite else np.array([])
    return {
        "rows": int(sums["rows"]),
        "predicted_classes": [c for c, n in zip(classes, mean.sum(axis=1)) if n > 0],
        "expected_class_rows": {c: round(v, 3) for c, v in expected_class_rows(sums, classes).items()},
        "macro_f1": figure(stats.macro_f1_from_confusions(mean[None])[0], stats.macro_f1_from_confusions(draws)),
        "accuracy": figure(accuracy, accuracy_draws),
        "f1": {c: figure(f1[i], f1_draws[:, i]) for i, c in enumerate(classes)},
        "auc": figure(auc_value, auc_spread),
        "confidence": confidence,
    }
