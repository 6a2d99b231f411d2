"""Segments of a credit-risk portfolio and the treatment of a protected attribute's groups.

Monitoring a scorecard by segment (region, product, age band) shows what a portfolio-wide
figure hides: a segment whose default rate, approval rate, macro F1, AUC or score
distribution has moved (`segment_figures`). A protected attribute is compared the way
fairlearn's MetricFrame reports it (`compare`): approval rate (approval = not predicted
adverse) and its ratio to the overall rate, false positive and false negative rates, each
with its sampling error, so that an alert fires only on a gap beyond chance. Pure numpy, math
and pandas; the statistics are weekly.lifecycle.stats and weekly.lifecycle.evidence.
"""
from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import pandas as pd

from weekly.lifecycle import evidence, stats

MISSING = "(missing)"
INTERVAL = ("approval_ratio: group / overall approval rate; interval by the delta method on the log "
            "ratio, the overall rate written as the pooled rate of the group and of the rest of the "
            "rows (independent); rates of 0 or 1 replaced by (x + 0.5) / (n + 1) for the interval")


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value)


def _text(value) -> str:
    if pd.isna(value):
        return MISSING
    if isinstance(value, (float, np.floating)):
        return _number(value)
    if isinstance(value, (np.integer, np.bool_)):
        return str(value.item())
    return str(value)


def groups(values: pd.Series, edges: list[float] | None) -> pd.Series:
    """The group label (text) of each row of a segment column: the value itself (whole floats
    written as integers), or with numeric `edges` the band, left-closed ("<25", "25-35",
    ">=50"); missing values are "(missing)"."""
    if edges is None:
        return pd.Series([_text(v) for v in values], index=values.index, dtype=object)
    edges = [float(e) for e in edges]
    if not edges or any(a >= b for a, b in pairwise(edges)):
        raise ValueError(f"edges must be a non-empty strictly increasing list, got {edges}")
    numbers = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    names = [f"<{_number(edges[0])}"]
    names += [f"{_number(a)}-{_number(b)}" for a, b in pairwise(edges)]
    names += [f">={_number(edges[-1])}"]
    index = np.searchsorted(np.asarray(edges), numbers, side="right")
    labels = [MISSING if math.isnan(x) else names[i] for x, i in zip(numbers, index)]
    return pd.Series(labels, index=values.index, dtype=object)


_BAND = re.compile(r"^(<|>=)?(-?[\d.]+)(?:-(-?[\d.]+))?$")


def in_order(labels) -> list[str]:
    """Group labels as a person reads them: bands from the lowest up ("<25", "25-35",
    ">=50"), other values alphabetically, "(missing)" last."""
    def key(label: str) -> tuple:
        band = _BAND.match(label)
        if label == MISSING:
            return (2, 0.0, label)
        if band:
            rank = {"<": -1.0, ">=": 1.0}.get(band.group(1) or "", 0.0)
            return (0, float(band.group(2)) + rank * 1e-9, label)
        return (1, 0.0, label)
    return sorted(set(labels), key=key)


def _rate(successes: int, n: int, confidence: float) -> dict:
    bounds = stats.wilson(int(successes), int(n), confidence)
    return {"value": successes / n if n else None,
            "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None}


def _psi(now: np.ndarray, training: list[int] | None, alpha: float, seed: list[int], floor: float) -> dict:
    if training is None or len(now) == 0 or sum(training) == 0:
        return {"training_rows": int(sum(training)) if training else None,
                "psi": None, "psi_critical": None, "psi_moved": False}
    bins, m = len(training), int(sum(training))
    if now.max() >= bins:
        raise ValueError(f"band index {int(now.max())} beyond the {bins} training bands")
    shares = np.bincount(now, minlength=bins) / len(now)
    value = stats.psi([c / m for c in training], shares.tolist())
    # a group holds few rows: its critical value is simulated (stats.psi_critical), the
    # asymptotic one would pass a 6-row group's PSI for a shift one time in three
    critical = stats.psi_critical([c / m for c in training], len(now), m, alpha, seed=seed) if bins >= 2 else None
    # moved: beyond chance and by more than the magnitude floor, as the drift test reads a feature
    return {"training_rows": m, "psi": value, "psi_critical": critical,
            "psi_moved": critical is not None and value > critical and value > floor}


def segment_figures(group: pd.Series, y: np.ndarray, pred: np.ndarray, proba: np.ndarray, classes: list[str],
                    adverse: int, band: np.ndarray, training_bands: dict[str, list[int]] | None,
                    confidence: float, resamples: int, alpha: float, seed: list[int], psi_floor: float = 0.0) -> dict:
    """Each segment group's figures, keyed by group label in order (in_order): rows, event rate and
    approval rate (Wilson), macro F1 (seeded bootstrap, seed + [group's index]), AUC (DeLong),
    and the PSI of its score bands against its training band counts with its critical value
    under no change (simulated for the group's rows: stats.psi_critical); it moved when it
    passes both that and `psi_floor` (a magnitude, as retrain.drift.score_threshold). Groups of `training_bands` absent now appear with 0 rows."""
    labels = np.asarray(group, dtype=object)
    y, pred = np.asarray(y, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    band, proba = np.asarray(band, dtype=np.int64), np.asarray(proba, dtype=float)
    if not len(labels) == len(y) == len(pred) == len(band) == len(proba):
        raise ValueError("group, y, pred, proba and band must have one row each")
    k = len(classes)
    names = in_order(set(labels.tolist()) | set(training_bands or {}))
    out = {}
    for index, name in enumerate(names):
        inside = labels == name
        n = int(inside.sum())
        gy, gpred = y[inside], pred[inside]
        auc = evidence.macro_auc_interval(gy, proba[inside], k, confidence) if n else {}
        out[name] = {
            "rows": n,
            "events": int((gy == adverse).sum()),
            "event_rate": _rate(int((gy == adverse).sum()), n, confidence),
            "approval_rate": _rate(int((gpred != adverse).sum()), n, confidence),
            "macro_f1": stats.bootstrap_macro_f1(gy, gpred, k, resamples, [*seed, index], confidence),
            "auc": {"value": auc.get("auc", auc.get("value")), "se": auc.get("se"),
                    "low": auc.get("low"), "high": auc.get("high")},
            **_psi(band[inside], (training_bands or {}).get(name), alpha, [*seed, index, 1], psi_floor),
        }
    return out


def _smoothed(x: int, n: int) -> float:
    return (x + 0.5) / (n + 1.0) if x in (0, n) else x / n


def _ratio(x_g: int, n_g: int, x_r: int, n_r: int, confidence: float) -> dict:
    """Group rate / overall rate with its delta-method interval on the log scale (see INTERVAL)."""
    overall = (x_g + x_r) / (n_g + n_r) if n_g + n_r else 0.0
    if n_g == 0 or overall == 0.0:
        return {"value": None, "low": None, "high": None}
    value = (x_g / n_g) / overall
    if n_r == 0:  # the group is every row
        return {"value": value, "low": value, "high": value}
    p_g, p_r, w = _smoothed(x_g, n_g), _smoothed(x_r, n_r), n_g / (n_g + n_r)
    p = w * p_g + (1.0 - w) * p_r
    # d log(p_g / p) / d p_g = (1 - w) p_r / (p_g p), / d p_r = -(1 - w) / p
    variance = ((1.0 - w) / p) ** 2 * (p_r ** 2 * (1.0 - p_g) / (p_g * n_g) + p_r * (1.0 - p_r) / n_r)
    half = stats.normal_quantile(0.5 + confidence / 2.0) * math.sqrt(variance)
    centre = math.log(p_g / p)
    # the interval always holds the estimate (it is off-centre only when a rate was 0 or 1)
    return {"value": value, "low": min(value, math.exp(centre - half)), "high": max(value, math.exp(centre + half))}


def _difference(group: dict, overall: dict) -> float | None:
    return group["value"] - overall["value"] if group["value"] is not None and overall["value"] is not None else None


def _spread(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) - min(known) if known else None


def compare(group: pd.Series, adverse_outcome: np.ndarray, adverse_predicted: np.ndarray, confidence: float,
            band: tuple[float, float]) -> dict:
    """How the groups of a protected attribute are treated (fairlearn's MetricFrame figures,
    approval = not predicted adverse). Per group (in_order): approval rate, false
    positive rate (predicted adverse among good outcomes), false negative rate (predicted not
    adverse among adverse outcomes), all with Wilson intervals; their signed differences to
    overall (fairlearn's difference is the absolute value); approval_ratio = group / overall
    approval rate with an interval (INTERVAL; fairlearn's ratio "to_overall" is min(r, 1/r)),
    outside_band when that interval lies wholly outside `band`."""
    labels = np.asarray(group, dtype=object)
    outcome, predicted = np.asarray(adverse_outcome, dtype=bool), np.asarray(adverse_predicted, dtype=bool)
    if not len(labels) == len(outcome) == len(predicted):
        raise ValueError("group, adverse_outcome and adverse_predicted must have one row each")
    low_band, high_band = band

    def figures(inside: np.ndarray) -> dict:
        good, bad = inside & ~outcome, inside & outcome
        return {"rows": int(inside.sum()),
                "approval_rate": _rate(int((inside & ~predicted).sum()), int(inside.sum()), confidence),
                "false_positive_rate": _rate(int((good & predicted).sum()), int(good.sum()), confidence),
                "false_negative_rate": _rate(int((bad & ~predicted).sum()), int(bad.sum()), confidence)}

    overall = figures(np.ones(len(labels), dtype=bool))
    approved = ~predicted
    out = {}
    for name in in_order(labels.tolist()):
        inside = labels == name
        row = figures(inside)
        ratio = _ratio(int((inside & approved).sum()), int(inside.sum()),
                       int((~inside & approved).sum()), int((~inside).sum()), confidence)
        out[name] = {
            **row,
            "approval_ratio": ratio,
            "fpr_difference": _difference(row["false_positive_rate"], overall["false_positive_rate"]),
            "fnr_difference": _difference(row["false_negative_rate"], overall["false_negative_rate"]),
            "outside_band": ratio["low"] is not None and (ratio["high"] < low_band or ratio["low"] > high_band),
        }
    approvals = [g["approval_rate"]["value"] for g in out.values()]
    fnrs = [g["false_negative_rate"]["value"] for g in out.values()]
    tprs = [None if v is None else 1.0 - v for v in fnrs]
    fprs = [g["false_positive_rate"]["value"] for g in out.values()]
    spreads = [s for s in (_spread(tprs), _spread(fprs)) if s is not None]
    return {
        "overall": overall,
        "groups": out,
        "approval_ratio_between": min(approvals) / max(approvals) if approvals and max(approvals) > 0 else None,
        "equalized_odds_difference": max(spreads) if spreads else None,
        "band": [float(low_band), float(high_band)],
        "groups_outside": [name for name, g in out.items() if g["outside_band"]],
        "confidence": confidence,
        "interval": INTERVAL,
    }
