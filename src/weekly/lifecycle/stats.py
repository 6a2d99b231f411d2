"""Sampling error of the figures the monitoring decisions read.

A week's macro F1, AUC, default rate or PSI is an estimate from a few hundred or thousand
rows; a decision that compares it with a threshold or with another model should know how
far it could move by chance alone. These are pure numpy functions (no scipy or scikit-learn
at runtime, so the weekly steps stay light), deterministic for a given seed, each checked
against a reference implementation or a published worked example in `tests/test_stats.py`.
"""
from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

PSI_FLOOR = 1e-4  # a share of 0 would make PSI's logarithm infinite

__all__ = [
    "PSI_FLOOR",
    "bootstrap_macro_f1",
    "chi2_cdf",
    "chi2_ppf",
    "chi2_sf",
    "delong",
    "macro_f1_from_confusion",
    "macro_f1_from_confusions",
    "normal_quantile",
    "paired_bootstrap_macro_f1",
    "psi",
    "psi_critical",
    "psi_critical_asymptotic",
    "wilson",
]

def psi(expected: list[float], actual: list[float]) -> float:
    """The population stability index of two lists of bin shares, sum of (a - e) ln(a / e),
    each share floored at PSI_FLOOR. The one PSI of the project (weekly.lifecycle.drift uses it)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PSI_FLOOR), max(a, PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


# Rows x resamples drawn at once by the bootstraps: bounds memory (~64 MB of int64 indices)
# for a portfolio's large weeks; smaller draws are made in one go.
_CHUNK = 8_000_000


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """log(p / (1 - p)), with p clipped to [eps, 1 - eps]."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


def normal_quantile(p: float) -> float:
    """The standard normal quantile at `p` (stdlib, so no scipy is needed for a z value)."""
    return NormalDist().inv_cdf(p)


def _two_sided_z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return normal_quantile(0.5 + confidence / 2.0)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion `successes / n`; None when n == 0.

    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps its coverage for rates
    near 0 or 1 and small n, as a week's default rate often is.
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    z = _two_sided_z(confidence)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding would leave it a hair inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def macro_f1_from_confusions(cms: np.ndarray) -> np.ndarray:
    """Macro F1 of each confusion matrix in a stack `cms` of shape (r, k, k) (rows = truth,
    columns = prediction), over the classes present in that matrix; NaN for an empty matrix.

    A class absent from both truth and predictions is left out rather than counted as 0,
    as sklearn's `f1_score(labels=present, average="macro", zero_division=0)` does.
    """
    cms = np.asarray(cms, dtype=float)
    tp = np.diagonal(cms, axis1=-2, axis2=-1)
    both = cms.sum(axis=-1) + cms.sum(axis=-2)  # support + predicted = 2tp + fp + fn
    present = both > 0
    f1 = np.divide(2.0 * tp, both, out=np.zeros_like(tp), where=present)
    count = present.sum(axis=-1)
    return np.divide(f1.sum(axis=-1), count, out=np.full(count.shape, np.nan), where=count > 0)


def macro_f1_from_confusion(cm: np.ndarray) -> float | None:
    """Macro F1 of one k x k confusion matrix over the classes present; None when it is empty."""
    value = float(macro_f1_from_confusions(np.asarray(cm)[None])[0])
    return None if math.isnan(value) else value


def _confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def _replicate_confusions(codes: list[np.ndarray], k: int, resamples: int, seed) -> list[np.ndarray]:
    """Confusion counts of each bootstrap replicate, one (resamples, k, k) stack per code
    vector (truth * k + prediction), all on the same resampled rows."""
    n = len(codes[0])
    rng = np.random.default_rng(seed)
    out = [np.empty((resamples, k, k), dtype=np.int64) for _ in codes]
    step = max(1, _CHUNK // n)
    for start in range(0, resamples, step):
        r = min(step, resamples - start)
        index = rng.integers(0, n, size=(r, n))
        offset = (np.arange(r) * (k * k))[:, None]
        for stack, code in zip(out, codes, strict=True):
            counts = np.bincount((code[index] + offset).ravel(), minlength=r * k * k)
            stack[start:start + r] = counts.reshape(r, k, k)
    return out


def _summary(value: float, replicates: np.ndarray, confidence: float) -> dict:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    se = float(np.std(replicates, ddof=1)) if len(replicates) > 1 else 0.0
    return {"value": value, "se": se, "low": float(low), "high": float(high)}


_EMPTY = {"value": None, "se": None, "low": None, "high": None}


def _check_labels(k: int, *arrays: np.ndarray) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.int64) for a in arrays]
    if any(a.shape != out[0].shape or a.ndim != 1 for a in out):
        raise ValueError("labels and predictions must be 1-d arrays of one length")
    if any(len(a) and (a.min() < 0 or a.max() >= k) for a in out):
        raise ValueError(f"labels and predictions must be class indices 0..{k - 1}")
    return out


def bootstrap_macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int, resamples: int,
                       seed: int | list[int], confidence: float = 0.95) -> dict:
    """Macro F1 with its bootstrap standard error and percentile interval.

    Rows are resampled with replacement `resamples` times (vectorised: an index matrix and
    one bincount, no loop over rows); each replicate's macro F1 is over the classes present
    in that replicate. Returns {"value", "se", "low", "high", "resamples"}, se the standard
    deviation of the replicates and (low, high) their two-sided `confidence` percentiles;
    value/se/low/high are None for an empty week.
    """
    y, pred = _check_labels(n_classes, y, pred)
    if len(y) == 0:
        return {**_EMPTY, "resamples": resamples}
    value = macro_f1_from_confusion(_confusion(y, pred, n_classes))
    (cms,) = _replicate_confusions([y * n_classes + pred], n_classes, resamples, seed)
    return {**_summary(value, macro_f1_from_confusions(cms), confidence), "resamples": resamples}


def paired_bootstrap_macro_f1(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_classes: int,
                              resamples: int, seed: int | list[int], confidence: float = 0.95,
                              margin: float = 0.0) -> dict:
    """Macro F1 of two models on the same rows and of their difference, by a paired bootstrap.

    Both models are scored on the same resampled rows, so what they share (the hard rows of
    the week) cancels in the difference and its interval is narrower than two separate ones
    would suggest. Returns {"a", "b", "diff"} (each {"value", "se", "low", "high"}, diff =
    a - b), "p_not_greater" (share of replicates with diff <= 0), "p_value" = (1 + #(diff <=
    margin)) / (1 + resamples), the one-sided bootstrap p-value that a (a challenger) beats b
    by more than `margin`, and "margin", "resamples". Values are None for an empty week.
    """
    y, pred_a, pred_b = _check_labels(n_classes, y, pred_a, pred_b)
    if len(y) == 0:
        return {"a": dict(_EMPTY), "b": dict(_EMPTY), "diff": dict(_EMPTY), "p_not_greater": None,
                "p_value": None, "margin": margin, "resamples": resamples}
    k = n_classes
    value_a = macro_f1_from_confusion(_confusion(y, pred_a, k))
    value_b = macro_f1_from_confusion(_confusion(y, pred_b, k))
    cms_a, cms_b = _replicate_confusions([y * k + pred_a, y * k + pred_b], k, resamples, seed)
    rep_a, rep_b = macro_f1_from_confusions(cms_a), macro_f1_from_confusions(cms_b)
    diff = rep_a - rep_b
    return {
        "a": _summary(value_a, rep_a, confidence),
        "b": _summary(value_b, rep_b, confidence),
        "diff": _summary(value_a - value_b, diff, confidence),
        "p_not_greater": float(np.mean(diff <= 0.0)),
        "p_value": float((1 + np.count_nonzero(diff <= margin)) / (1 + resamples)),
        "margin": margin,
        "resamples": resamples,
    }


def _midranks(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    left = np.searchsorted(ordered, values, side="left")
    right = np.searchsorted(ordered, values, side="right")
    return (left + right + 1) / 2.0  # 1-based rank, ties sharing their mean rank


def delong(positive: np.ndarray, score: np.ndarray, confidence: float = 0.95) -> dict | None:
    """AUC with its DeLong (1988) standard error, by the fast midrank algorithm of Sun & Xu (2014).

    The variance is that of the Mann-Whitney statistic (ties count 1/2) from its structural
    components, O(n log n). The interval at `confidence` is computed on the logit scale,
    logit(auc) +/- z * se / (auc (1 - auc)), and mapped back, so it lies within [0, 1] without
    clipping and is asymmetric near 1. Returns {"auc", "se", "low", "high"}; low = high = auc
    when se is 0 (perfect separation); se/low/high None when a class has a single row (its
    component's variance is undefined); None when a class is absent.
    """
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=float)
    x, y = score[positive], score[~positive]
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        return None
    combined = _midranks(np.concatenate([x, y]))
    auc = float((combined[:m].sum() - m * (m + 1) / 2.0) / (m * n))
    if m < 2 or n < 2:
        return {"auc": auc, "se": None, "low": None, "high": None}
    v10 = (combined[:m] - _midranks(x)) / n  # per positive: share of negatives below it
    v01 = 1.0 - (combined[m:] - _midranks(y)) / m  # per negative: share of positives above it
    se = math.sqrt(max(0.0, float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)))
    if se == 0.0 or auc in (0.0, 1.0):
        return {"auc": auc, "se": se, "low": auc, "high": auc}
    z = _two_sided_z(confidence)
    centre = math.log(auc / (1.0 - auc))
    half = z * se / (auc * (1.0 - auc))
    low, high = (1.0 / (1.0 + math.exp(-(centre + s * half))) for s in (-1.0, 1.0))
    return {"auc": auc, "se": se, "low": min(max(low, 0.0), 1.0), "high": min(max(high, 0.0), 1.0)}


# Regularized incomplete gamma, as in Numerical Recipes (gser / gcf with modified Lentz).
_EPS, _TINY, _ITMAX = 1e-15, 1e-300, 10_000


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)), the regularized lower and upper incomplete gamma functions."""
    if x <= 0.0:
        return 0.0, 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for P converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(_ITMAX):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        p = total * math.exp(log_front)
        return p, 1.0 - p
    b = x + 1.0 - a  # continued fraction for Q
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _ITMAX):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    q = math.exp(log_front) * h
    return 1.0 - q, q


def chi2_cdf(x: float, df: float) -> float:
    """P(X <= x) for a chi-square variable with `df` degrees of freedom."""
    return _gamma_pq(df / 2.0, x / 2.0)[0]


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-square variable with `df` degrees of freedom: the p-value of a
    chi-square statistic, accurate in the far tail (not computed as 1 - cdf)."""
    return _gamma_pq(df / 2.0, x / 2.0)[1]


@functools.lru_cache(maxsize=256)  # the drift test asks the same few (level, bins) every week
def chi2_ppf(p: float, df: float) -> float:
    """The chi-square quantile: x with P(X <= x) = p, by safeguarded Newton steps on the exact
    incomplete gamma from the Wilson-Hilferty approximation (relative error ~1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    a = df / 2.0
    upper = p > 0.5  # solve on the smaller tail, for relative accuracy there
    target = 1.0 - p if upper else p
    z = normal_quantile(p)
    h = 2.0 / (9.0 * df)
    y = max(df * (1.0 - h + z * math.sqrt(h)) ** 3 / 2.0, 1e-300)  # in gamma units, x / 2
    lo, hi = 0.0, math.inf
    for _ in range(200):
        pq = _gamma_pq(a, y)
        f = (pq[1] if upper else pq[0]) - target
        if f == 0.0:
            break
        # The tail decreases in y for Q and increases for P: keep a bracket for bisection.
        if (f > 0.0) == upper:
            lo = y
        else:
            hi = y
        density = math.exp(-y + (a - 1.0) * math.log(y) - math.lgamma(a))
        step = f / density if upper else -f / density
        candidate = y + step
        if not lo < candidate < hi or not math.isfinite(candidate):
            candidate = (lo + hi) / 2.0 if math.isfinite(hi) else 2.0 * y + 1.0
        if abs(candidate - y) <= 1e-14 * y:
            y = candidate
            break
        y = candidate
    return 2.0 * y


def psi_critical_asymptotic(n: int, m: int, bins: int, alpha: float) -> float:
    """Large-sample critical value of PSI when nothing changed: (1/n + 1/m) chi2_{bins-1, 1-alpha}.

    Under no change, PSI / (1/n + 1/m) tends to a chi-square with bins - 1 degrees of freedom
    (Yurdakul & Naranjo, "Statistical properties of the population stability index",
    J. Risk Model Validation, 2020); n is the week's rows, m the reference's. It understates
    the small-sample value when bins are rare (see `psi_critical`).
    """
    if n <= 0 or m <= 0 or bins < 2:
        raise ValueError(f"need n, m > 0 and at least 2 bins, got n={n}, m={m}, bins={bins}")
    return (1.0 / n + 1.0 / m) * chi2_ppf(1.0 - alpha, bins - 1)


def _psi_rows(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    e, a = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return ((a - e) * np.log(a / e)).sum(axis=-1)


def psi_critical(reference_shares: np.ndarray, n: int, m: int, alpha: float, simulations: int = 2000,
                 seed: int | list[int] = 0) -> float | None:
    """Exact small-sample critical value of PSI when nothing changed, by Monte Carlo.

    Reference counts ~ Multinomial(m, p) and the week's ~ Multinomial(n, p), p the reference
    shares renormalised (bins of share 0 dropped: they add nothing under no change); the PSI
    of each pair of share vectors, with `psi`'s floor, is computed for `simulations` pairs at
    once and their (1 - alpha) quantile (method "higher") returned. A week with PSI above it
    is a false alarm with probability about alpha; with few rows per bin it is well above the
    asymptotic value. None when n == 0 or m == 0.
    """
    if n == 0 or m == 0:
        return None
    shares = np.asarray(reference_shares, dtype=float)
    shares = shares[shares > 0]
    if len(shares) == 0:
        raise ValueError("reference shares must have a positive bin")
    shares = shares / shares.sum()
    rng = np.random.default_rng(seed)
    expected = rng.multinomial(m, shares, size=simulations) / m
    actual = rng.multinomial(n, shares, size=simulations) / n
    return float(np.quantile(_psi_rows(expected, actual), 1.0 - alpha, method="higher"))
