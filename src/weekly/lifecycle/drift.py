"""Population stability: how far a week's applications have moved from a model's training data.

When a model is trained, `reference` records the distribution of every feature and of its
score on the training rows: deciles for numbers (plus a bin for missing values), the most
frequent values for categories (plus "other" and missing). A week is then compared with
it by the population stability index, PSI = sum over bins of (a - e) * ln(a / e), where e
and a are the reference's and the week's shares (0.1 is usually read as a moderate
shift, 0.25 as a large one: large-sample rules; on 60 rows PSI is over 0.1 by chance
alone). So the drift test pools a week's bin counts with the weeks before it and compares
PSI with its critical value under no change for those sample sizes (pooled_drift).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from weekly.lifecycle.stats import psi

BINS = 10
TOP_CATEGORIES = 20
# Training rows a reference is taken from: all of them up to this many, else this many evenly
# spaced (every week in proportion). Deciles and category shares of 200,000 rows are within
# ~0.1 point of the whole window's, at a fraction of the scoring time and memory of a
# portfolio's millions of rows.
REFERENCE_ROWS = 200_000
_OTHER, _MISSING = "__other__", "__missing__"


def _numeric_bins(values: pd.Series) -> dict:
    known = values.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(known, np.linspace(0, 1, BINS + 1)[1:-1])) if len(known) else np.array([])
    return {"kind": "numeric", "edges": edges.tolist(), "shares": _numeric_shares(edges.tolist(), values)}


def _numeric_shares(edges: list[float], values: pd.Series) -> list[float]:
    n = len(values)
    missing = values.isna().to_numpy()
    index = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float)[~missing], side="right")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(float)
    return [*(counts / n if n else counts), (missing.sum() / n) if n else 0.0]


def _categorical_bins(values: pd.Series) -> dict:
    top = values.dropna().astype(object).value_counts().head(TOP_CATEGORIES).index.tolist()
    return {"kind": "categorical", "values": [str(v) for v in top], "shares": _categorical_shares(top, values)}


def _categorical_shares(top: list[str], values: pd.Series) -> list[float]:
    n = len(values)
    if not n:
        return [0.0] * (len(top) + 2)
    counts = values.astype(object).value_counts()  # missing values left out
    shares = [float(counts.get(v, 0)) / n for v in top]
    missing = float(values.isna().sum()) / n
    return [*shares, 1.0 - sum(shares) - missing, missing]


def reference_rows(frame: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The rows a reference is taken from: all of `frame` up to `limit` (REFERENCE_ROWS),
    else `limit` rows evenly spaced by position, the first and the last included."""
    limit = REFERENCE_ROWS if limit is None else limit
    if len(frame) <= limit:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, limit).round().astype(int)]


def reference(frame: pd.DataFrame, columns: dict, score: np.ndarray) -> dict:
    """The training rows' distribution of each feature and of the model's score."""
    return {
        "rows": len(frame),
        "features": {
            **{col: _numeric_bins(frame[col]) for col in columns["numeric"]},
            **{col: _categorical_bins(frame[col]) for col in columns["categorical"]},
        },
        "score": _numeric_bins(pd.Series(score, dtype=float)),
    }


def _shares(bins: dict, values: pd.Series) -> list[float]:
    if bins["kind"] == "numeric":
        return _numeric_shares(bins["edges"], values)
    return _categorical_shares(bins["values"], values)


def stability(ref: dict, frame: pd.DataFrame, score: np.ndarray) -> dict:
    """PSI of every feature and of the score of `frame` against `ref`; None for an empty week."""
    return stability_of_counts(ref, counts(ref, frame, score))


def stability_of_counts(ref: dict, binned: dict) -> dict:
    """PSI of every feature and of the score from bin counts (see counts); None for no row."""
    n = binned["rows"]
    if not n:
        return {"rows": 0, "features": {col: None for col in ref["features"]}, "score": None}
    return {
        "rows": n,
        "features": {col: psi(bins["shares"], [c / n for c in binned["features"][col]])
                     for col, bins in ref["features"].items()},
        "score": psi(ref["score"]["shares"], [c / n for c in binned["score"]]),
    }


# Pooled drift: a week's bin counts, summed over an evidence window, tested against the
# sampling distribution of PSI under no change (weekly.lifecycle.stats.psi_critical).

def _numeric_counts(edges: list[float], values: pd.Series) -> list[int]:
    missing = values.isna().to_numpy()
    index = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float)[~missing], side="right")
    return [*np.bincount(index, minlength=len(edges) + 1).tolist(), int(missing.sum())]


def _categorical_counts(top: list[str], values: pd.Series) -> list[int]:
    counts = values.astype(object).value_counts()
    known = [int(counts.get(v, 0)) for v in top]
    missing = int(values.isna().sum())
    return [*known, len(values) - sum(known) - missing, missing]


def counts(ref: dict, frame: pd.DataFrame, score: np.ndarray) -> dict:
    """The bin counts of every feature (the last bin: missing values) and of the score of
    `frame` in the bins of `ref`: what pools over weeks by addition."""
    def binned(bins: dict, values: pd.Series) -> list[int]:
        if bins["kind"] == "numeric":
            return _numeric_counts(bins["edges"], values)
        return _categorical_counts(bins["values"], values)

    return {
        "rows": len(frame),
        "features": {col: binned(bins, frame[col]) for col, bins in ref["features"].items()},
        "score": binned(ref["score"], pd.Series(score, dtype=float)),
    }


def add_counts(parts: list[dict]) -> dict:
    """The bin counts of several weeks together (see counts)."""
    total = {"rows": sum(p["rows"] for p in parts), "features": {}, "score": None}
    if not parts:
        return total
    for col in parts[0]["features"]:
        total["features"][col] = np.sum([p["features"][col] for p in parts], axis=0).tolist()
    total["score"] = np.sum([p["score"] for p in parts], axis=0).tolist()
    return total


def _known_part(shares_or_counts: list[float]) -> np.ndarray:
    # Every bin but the last (missing values): drift is about the values that are there;
    # a feature turning missing is a data-quality finding of its own (missing_findings).
    return np.asarray(shares_or_counts[:-1], dtype=float)


def shift_test(reference_shares: list[float], reference_rows: int, current: list[int], alpha: float,
               magnitude: float, seed: list[int]) -> dict:
    """PSI of the known values of `current` (bin counts, missing last) against the
    reference, with its critical value under no change for these two sample sizes and
    bins at level `alpha`: simulated (seeded, exact for small samples:
    weekly.lifecycle.stats.psi_critical) when the PSI reaches `magnitude`, else the large-sample
    chi-square value. `moved`: PSI above the critical value (significant) and at least
    `magnitude` (material)."""
    from weekly.lifecycle import stats

    ref = _known_part(reference_shares)
    cur = _known_part(current)
    n, ref_share = int(cur.sum()), float(ref.sum())
    m = int(round(reference_rows * ref_share))
    if n == 0 or m == 0 or ref_share <= 0:
        return {"psi": None, "rows": n, "critical": None, "significant": False, "moved": False}
    value = psi((ref / ref_share).tolist(), (cur / n).tolist())
    # The simulated critical value (~10 ms) is needed only where the magnitude floor is
    # reached: under it a feature cannot count as moved, and the large-sample value shows.
    bins = int((ref > 0).sum())
    if bins < 2:  # one value in training: any other value is new, no distribution to test
        critical, method = None, None
    elif value >= magnitude:
        critical, method = stats.psi_critical(ref / ref_share, n, m, alpha, seed=seed), "simulated"
    else:
        critical, method = stats.psi_critical_asymptotic(n, m, bins, alpha), "asymptotic"
    significant = critical is not None and value > critical
    return {"psi": value, "rows": n, "critical": critical, "critical_method": method,
            "significant": bool(significant), "moved": bool(significant and value >= magnitude)}


def missing_finding(reference_shares: list[float], current: list[int], alpha: float, margin: float) -> dict:
    """The missing share of a feature against its training rows: a finding when the
    current share's Wilson interval (level 1 - 2 alpha, i.e. one-sided alpha) lies above
    the reference share plus `margin`."""
    from weekly.lifecycle import stats

    n, k = int(sum(current)), int(current[-1])
    reference = float(reference_shares[-1])
    bounds = stats.wilson(k, n, 1 - 2 * alpha) if n else None
    return {"reference": reference, "current": k / n if n else None, "rows": n,
            "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None,
            "finding": bool(bounds and bounds[0] > reference + margin)}


def pooled_drift(ref: dict, pooled: dict, policy: dict, seed: list[int]) -> dict:
    """Every feature's and the score's shift test on `pooled` counts against `ref`, at
    retrain.drift.alpha shared out over the tests (Bonferroni: alpha / (features + 1)), and
    the missing-share findings; `policy`: retrain.drift."""
    tests = len(ref["features"]) + 1
    alpha = policy["alpha"] / tests
    features = {
        col: shift_test(bins["shares"], ref["rows"], pooled["features"][col], alpha, policy["threshold"], [*seed, i])
        for i, (col, bins) in enumerate(ref["features"].items())
    }
    score = shift_test(ref["score"]["shares"], ref["rows"], pooled["score"], alpha, policy["score_threshold"],
                       [*seed, tests])
    missing = {col: missing_finding(bins["shares"], pooled["features"][col], alpha, policy["missing_margin"])
               for col, bins in ref["features"].items()}
    return {"alpha": policy["alpha"], "tests": tests, "features": features, "score": score, "missing": missing}
