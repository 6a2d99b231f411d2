"""The gains table of a credit scorecard, as scorecard monitoring reads it.

A model's risk score (its probability of the adverse class: high = risky) is cut into bands
fixed once from its training rows (deciles by default). Each window's rows and events per band
give the gains table, riskiest band first: how many of the bads the top bands capture
(cumulative shares, KS, lift), and whether a band's event rate has moved from the model's own
validation rows beyond sampling error (Fisher's exact test per band, Holm-corrected across
bands; the pooled two-proportion z shows the direction). Band counts are sums, so windows
pool by adding them. Pure numpy and math.
"""
from __future__ import annotations

import math

import numpy as np

from weekly.lifecycle import stats

TEST = ("two-sided Fisher's exact test of each band's event rate against the model's validation rows in "
        "that band (z: the pooled two-proportion z, for its direction), Holm step-down correction across the "
        "bands tested")


def band_edges(score: np.ndarray, bands: int = 10) -> list[float]:
    """The inner band edges of a model's training risk scores: the quantiles i/bands
    (numpy's linear interpolation), sorted and without duplicates. Tied scores merge bands,
    and an edge at the lowest score is dropped (the band below it would always be empty)."""
    if bands < 1:
        raise ValueError(f"bands must be at least 1, got {bands}")
    score = np.asarray(score, dtype=float)
    if score.size == 0 or bands == 1:
        return []
    if np.isnan(score).any():
        raise ValueError("risk scores must not be missing")
    quantiles = np.quantile(score, np.arange(1, bands) / bands)
    return [float(e) for e in np.unique(quantiles) if e > score.min()]


def assign(score: np.ndarray, edges: list[float]) -> np.ndarray:
    """Band index of each risk score: 0 the lowest-risk band, len(edges) the riskiest; a score
    on an edge goes to the band above it (bands are [low, high))."""
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(score, dtype=float),
                           side="right").astype(np.int64)


def band_number(index: np.ndarray, n_bands: int) -> np.ndarray:
    """The band as the table numbers it (1 the riskiest) from its index (assign)."""
    return n_bands - np.asarray(index, dtype=np.int64)


def band_index(number: np.ndarray, n_bands: int) -> np.ndarray:
    """The band's index (assign) from its number in the table (band_number)."""
    return n_bands - np.asarray(number, dtype=np.int64)


def band_counts(band: np.ndarray, event: np.ndarray, n_bands: int) -> dict:
    """Rows and adverse events per band (index 0 = lowest risk): {"rows": [...], "events": [...]}.
    Sums, so two windows pool by adding them (add_counts)."""
    band = np.asarray(band, dtype=np.int64)
    event = np.asarray(event, dtype=bool)
    if band.shape != event.shape or band.ndim != 1:
        raise ValueError("band and event must be 1-d arrays of one length")
    if band.size and (band.min() < 0 or band.max() >= n_bands):
        raise ValueError(f"band indices must be in 0..{n_bands - 1}")
    rows = np.bincount(band, minlength=n_bands)
    events = np.bincount(band[event], minlength=n_bands)
    return {"rows": [int(r) for r in rows], "events": [int(e) for e in events]}


def add_counts(parts: list[dict]) -> dict:
    """The band counts of several windows pooled: their sums, band by band."""
    if not parts:
        raise ValueError("nothing to pool")
    width = len(parts[0]["rows"])
    if any(len(p["rows"]) != width or len(p["events"]) != width for p in parts):
        raise ValueError("band counts to pool must have the same number of bands")
    return {key: [int(sum(p[key][i] for p in parts)) for i in range(width)] for key in ("rows", "events")}


def _rate(successes: int, n: int, confidence: float) -> dict:
    bounds = stats.wilson(successes, n, confidence)
    return {"value": successes / n if n else None,
            "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None}


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """(z, two-sided p) of the pooled two-proportion z test of x1/n1 against x2/n2; None when
    a side has no rows or the pooled rate is 0 or 1 (no variance to test against)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled <= 0.0 or pooled >= 1.0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test of x1/n1 against x2/n2 (scipy's: the tables
    with the same margins no likelier than the observed one, with a relative tolerance of
    1e-7). Exact for the few events of a band of a thin window, where the z test's normal
    approximation flags a band that did not move more often than its level says."""
    successes, total = x1 + x2, n1 + n2
    low, high = max(0, successes - n2), min(successes, n1)

    def log_pmf(k: int) -> float:  # hypergeometric: k of the successes in the first sample
        return (math.lgamma(n1 + 1) - math.lgamma(k + 1) - math.lgamma(n1 - k + 1)
                + math.lgamma(n2 + 1) - math.lgamma(successes - k + 1) - math.lgamma(n2 - successes + k + 1)
                - math.lgamma(total + 1) + math.lgamma(successes + 1) + math.lgamma(total - successes + 1))

    logs = np.array([log_pmf(k) for k in range(low, high + 1)])
    observed = logs[x1 - low]
    return float(min(1.0, np.exp(logs[logs <= observed + math.log1p(1e-7)]).sum()))


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None): the k-th smallest of m p-values
    times (m - k + 1), made monotone and capped at 1. Rejecting where adjusted < alpha keeps
    the chance of any false flag among the bands at most alpha."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m, running = len(tested), 0.0
    adjusted: list[float | None] = [None] * len(p_values)
    for k, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - k) * p))
        adjusted[i] = running
    return adjusted


def _cumulative(values: list[int], total: int) -> list[float | None]:
    return [c / total if total else None for c in np.cumsum(values).tolist()]


def table(counts: dict, edges: list[float], validation: dict | None, confidence: float, alpha: float) -> dict:
    """The gains table of a window's band counts, riskiest band first (band 1), with each
    band's event rate tested against `validation` (the model's validation band counts; None:
    no test). A flag is a band whose Holm-adjusted p-value is below `alpha`."""
    n_bands = len(edges) + 1
    if len(counts["rows"]) != n_bands or len(counts["events"]) != n_bands:
        raise ValueError(f"{len(edges)} edges make {n_bands} bands, counts have {len(counts['rows'])}")
    if validation is not None and (len(validation["rows"]) != n_bands or len(validation["events"]) != n_bands):
        raise ValueError(f"validation counts must have {n_bands} bands, got {len(validation['rows'])}")
    order = list(range(n_bands - 1, -1, -1))  # riskiest first
    rows = [int(counts["rows"][i]) for i in order]
    events = [int(counts["events"][i]) for i in order]
    if any(e < 0 or e > r for e, r in zip(events, rows)):
        raise ValueError("a band's events must be between 0 and its rows")
    non_events = [r - e for r, e in zip(rows, events)]
    total, total_events = sum(rows), sum(events)
    overall = total_events / total if total else None
    cum_events = _cumulative(events, total_events)
    cum_non = _cumulative(non_events, total - total_events)
    tests = [None] * n_bands
    if validation is not None:
        # z: how far and which way, as a person reads it; the p-value: Fisher's exact test
        tests = [(z[0], fisher_exact(events[b], rows[b], int(validation["events"][i]), int(validation["rows"][i])))
                 if (z := two_proportion_z(events[b], rows[b], int(validation["events"][i]), int(validation["rows"][i])))
                 else None for b, i in enumerate(order)]
    adjusted = holm([t[1] if t else None for t in tests])
    bands = []
    for b, i in enumerate(order):
        ks = cum_events[b] - cum_non[b] if cum_events[b] is not None and cum_non[b] is not None else None
        rate = _rate(events[b], rows[b], confidence)
        v_rows = int(validation["rows"][i]) if validation is not None else None
        v_events = int(validation["events"][i]) if validation is not None else None
        bands.append({
            "band": b + 1,
            "score_low": float(edges[i - 1]) if i > 0 else None,
            "score_high": float(edges[i]) if i < len(edges) else None,
            "rows": rows[b], "events": events[b], "non_events": non_events[b],
            "share": rows[b] / total if total else None,
            "event_rate": rate,
            "cumulative_events": cum_events[b], "cumulative_non_events": cum_non[b], "ks": ks,
            "lift": rate["value"] / overall if rate["value"] is not None and overall else None,
            "validation_rows": v_rows, "validation_events": v_events,
            "validation_event_rate": v_events / v_rows if v_rows else None,
            "z": tests[b][0] if tests[b] else None,
            "p_value": tests[b][1] if tests[b] else None,
            "p_adjusted": adjusted[b],
            "flagged": adjusted[b] is not None and adjusted[b] < alpha,
        })
    gaps = [abs(row["ks"]) if row["ks"] is not None else -1.0 for row in bands]
    top = int(np.argmax(gaps))
    has_ks = gaps[top] >= 0.0
    return {
        "rows": total, "events": total_events, "event_rate": _rate(total_events, total, confidence),
        # as metrics.ks: the largest gap either way (a model ranking backwards shows a large KS too)
        "ks": gaps[top] if has_ks else None, "ks_band": top + 1 if has_ks else None,
        "bands": bands,
        "flagged_bands": [row["band"] for row in bands if row["flagged"]],
        "confidence": confidence, "alpha": alpha, "test": TEST,
    }
