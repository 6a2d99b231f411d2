"""Evidence windows: the newest outcomes (or applications) pooled back over as many weeks as
it takes to judge, and the pooled figures with their sampling error.

One week of a real portfolio (5-60 rows, 1-5 % events) says little: its macro F1 or PSI
is mostly sampling noise. Every figure a trigger, the gate, an alert or the page reads is
taken over an evidence window instead: the newest weeks, back until they hold
`min_rows` rows and `min_class_rows` of every class (at most `max_weeks` weeks, never
past the serving model's start unless `across_versions`), and it carries an interval.
Pure functions; the statistics themselves are in weekly.lifecycle.stats.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from weekly.lifecycle import stats
from weekly.lifecycle.metrics import classification_report


def enough(rows: int, class_rows: dict[str, int], minimums: dict) -> str | None:
    """Why `rows` labelled rows (per class: `class_rows`) are too few to judge, or None.
    `minimums`: params.yaml evaluate (min_rows, min_class_rows)."""
    problems = []
    if rows < minimums["min_rows"]:
        problems.append(f"{rows} labelled rows, fewer than evaluate.min_rows {minimums['min_rows']}")
    short = {c: n for c, n in class_rows.items() if n < minimums["min_class_rows"]}
    if short:
        listed = ", ".join(f"{n} of class {c}" for c, n in short.items())
        problems.append(f"{listed}, fewer than evaluate.min_class_rows {minimums['min_class_rows']}")
    return "; ".join(problems) or None


def pool_weeks(newest_first: Sequence[dict], classes: Sequence[str], minimums: dict) -> list[str]:
    """The weeks of an evidence window, newest first: from the newest of `newest_first`
    (each {"week", "rows", "class_rows", "epoch"}) back until the pooled rows are enough
    (see enough), at most evaluate.max_weeks weeks, and, unless evaluate.across_versions,
    only weeks of the newest week's epoch.

    An epoch (weekly.lifecycle.tracker.epoch) starts with each promoted model and with each decision
    taken on evidence (a performance or drift finding), even one whose retraining was kept
    out or blocked: the evidence a decision was taken on is not read again by the next
    one (one noisy stretch would otherwise fire week after week)."""
    chosen, rows, per_class = [], 0, {c: 0 for c in classes}
    if not newest_first:
        return chosen
    epoch = newest_first[0]["epoch"]
    for week in newest_first:
        if len(chosen) >= minimums["max_weeks"]:
            break
        if not minimums["across_versions"] and week["epoch"] != epoch:
            break
        chosen.append(week["week"])
        rows += week["rows"]
        for c in classes:
            per_class[c] += week["class_rows"].get(c, 0)
        if enough(rows, per_class, minimums) is None:
            break
    return chosen


def interval(value: float | None, se: float | None, confidence: float) -> dict:
    """A figure with its normal interval at `confidence` from its standard error, within [0, 1]
    (no interval without an error)."""
    if value is None or se is None:
        return {"value": value, "se": se, "low": None, "high": None}
    z = stats.normal_quantile(0.5 + confidence / 2)
    return {"value": value, "se": se, "low": max(0.0, value - z * se), "high": min(1.0, value + z * se)}


def _proportion(successes: int, n: int, confidence: float) -> dict:
    bounds = stats.wilson(successes, n, confidence)
    return {"value": successes / n if n else None, "successes": int(successes), "n": int(n),
            "low": bounds[0] if bounds else None, "high": bounds[1] if bounds else None}


def macro_auc_interval(y: np.ndarray, proba: np.ndarray, n_classes: int, confidence: float) -> dict:
    """AUC with its DeLong interval: binary, of the event (the second class); else the mean
    one-vs-rest AUC over the classes present with both kinds, its standard error taken
    from the per-class variances as if independent (an approximation, stated)."""
    if n_classes == 2:
        result = stats.delong(y == 1, proba[:, 1], confidence=confidence)
        return result or interval(None, None, confidence)
    parts = [stats.delong(y == i, proba[:, i], confidence=confidence) for i in range(n_classes)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return interval(None, None, confidence)
    value = float(np.mean([p["auc"] for p in parts]))
    if any(p["se"] is None for p in parts):  # a class of a single row: no variance to speak of
        return {"value": value, "se": None, "low": None, "high": None}
    se = math.sqrt(sum(p["se"] ** 2 for p in parts)) / len(parts)
    return {**interval(value, se, confidence), "value": value}


def pooled_figures(y: np.ndarray, pred: np.ndarray, proba: np.ndarray, classes: Sequence[str], weeks: list[str],
                   minimums: dict, seed: list[int]) -> dict:
    """The pooled figures of an evidence window: `y` and `pred` class indices, `proba` one
    column per class, over `weeks` (newest first). Macro F1 with a seeded bootstrap
    interval, AUC with DeLong's, accuracy and each class's share with Wilson's; whether
    the window is judged (enough rows of every class) and, if not, why; and whether the
    model predicted one class only over rows holding several (a finding of its own)."""
    classes = list(classes)
    n, k = len(y), len(classes)
    confidence = minimums["confidence"]
    class_rows = {c: int((y == i).sum()) for i, c in enumerate(classes)}
    why_not = enough(n, class_rows, minimums)
    report = classification_report([classes[i] for i in y], [classes[i] for i in pred], classes)
    f1 = stats.bootstrap_macro_f1(y, pred, k, minimums["resamples"], seed, confidence) if n else None
    auc = macro_auc_interval(y, proba, k, confidence) if n else interval(None, None, confidence)
    predicted = sorted({classes[i] for i in pred})
    outcomes_present = [c for c, m in class_rows.items() if m]
    return {
        "weeks": list(weeks),
        "first_week": weeks[-1] if weeks else None,
        "last_week": weeks[0] if weeks else None,
        "rows": int(n),
        "class_rows": class_rows,
        "judged": why_not is None,
        "why_not": why_not,
        "confidence": confidence,
        "macro_f1": {"value": report["macro_f1"], "se": f1["se"] if f1 else None,
                     "low": f1["low"] if f1 else None, "high": f1["high"] if f1 else None,
                     "resamples": minimums["resamples"]},
        "auc": {"value": auc.get("auc", auc.get("value")), "se": auc["se"], "low": auc["low"], "high": auc["high"]},
        "accuracy": _proportion(int(np.trace(np.asarray(report["confusion_matrix"]["matrix"]))), n, confidence),
        "outcome_share": {c: _proportion(m, n, confidence) for c, m in class_rows.items()},
        "predicted_classes": predicted,
        # one class predicted over a window whose outcomes hold several: the model has stopped ranking
        "single_class": bool(n and len(predicted) <= 1 and len(outcomes_present) >= 2),
        "per_class": report["per_class"],
        "confusion_matrix": report["confusion_matrix"],
    }


def below(figure: dict, limit: float, alpha: float) -> bool:
    """Whether a pooled figure ({"value", "se"}) is below `limit` beyond its sampling error:
    its one-sided upper confidence bound at level 1 - alpha is under the limit."""
    if figure.get("value") is None or figure.get("se") is None:
        return False
    return figure["value"] + stats.normal_quantile(1 - alpha) * figure["se"] < limit


def significant_drop(figure: dict, validation: dict | None, max_drop: float, alpha: float) -> dict:
    """Whether a pooled figure lies more than `max_drop` under the model's own validation
    score beyond the sampling error of both (a one-sided z test at `alpha`, the two
    estimates independent: different rows). Returns the drop, its z and the verdict."""
    if figure.get("value") is None or not validation or validation.get("value") is None:
        return {"drop": None, "z": None, "significant": False}
    drop = validation["value"] - figure["value"]
    se = math.hypot(figure.get("se") or 0.0, validation.get("se") or 0.0)
    excess = drop - max_drop
    z = excess / se if se > 0 else (math.inf if excess > 0 else -math.inf)
    return {"drop": drop, "z": z if math.isfinite(z) else None, "significant": bool(z > stats.normal_quantile(1 - alpha))}
