"""The retraining decision taken at the start of a week, from the state the previous week left.

Each trigger is a pure function returning its inputs, threshold and verdict, so that
`decision.json` says why a week retrained; a new trigger is one more entry in TRIGGERS.
"""
from __future__ import annotations

from typing import Callable

from weekly.metrics import macro_auc
from weekly.weeks import days_between, labelled_window

Trigger = Callable[[str, dict, dict], dict]


def time_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when `max_days` or more days have passed since the last retraining."""
    tracker = known["tracker"]
    last = tracker["last_retraining_date"] if tracker else None
    days = days_between(last, week) if last else None
    return {
        "enabled": policy["enabled"],
        "inputs": {"last_retraining_date": last, "days_since_last_retraining": days},
        "threshold": {"max_days": policy["max_days"]},
        "fired": bool(policy["enabled"] and days is not None and days >= policy["max_days"]),
    }


def _figure(evaluation: dict, metric: str) -> float | None:
    return evaluation["macro_f1"] if metric == "macro_f1" else macro_auc(evaluation["risk"])


def performance_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when the serving model's `metric` over its latest judged weeks is below `floor`,
    or below its own validation score by more than `max_drop`.

    Only evaluations known at the start of the week, of the model serving now, and not too
    small to judge count (the newest `weeks` of them).
    """
    tracker = known["tracker"]
    version = tracker["model_version"] if tracker else None
    judged = [e for e in known["evaluations"]
              if e["model_version"] == version and not e["too_small"] and _figure(e, policy["metric"]) is not None]
    recent = judged[-policy["weeks"]:]
    value = sum(_figure(e, policy["metric"]) for e in recent) / len(recent) if recent else None
    validation = (tracker.get("macro_f1_score") if policy["metric"] == "macro_f1" else tracker.get("auc_score")) if tracker else None
    drop = validation - value if value is not None and validation is not None else None
    below = value is not None and value < policy["floor"]
    dropped = drop is not None and drop > policy["max_drop"]
    return {
        "enabled": policy["enabled"],
        "inputs": {"metric": policy["metric"], "weeks": [e["week"] for e in recent], "value": value,
                   "validation": validation, "drop": drop},
        "threshold": {"floor": policy["floor"], "max_drop": policy["max_drop"], "weeks": policy["weeks"]},
        "fired": bool(policy["enabled"] and (below or dropped)),
    }


def drift_trigger(week: str, policy: dict, known: dict) -> dict:
    """Fires when `min_features` or more features (or the score) have a PSI over the
    threshold in the newest week's applications, against the serving model's training rows.

    A feature that had already moved by the newest week the model learned from does not
    count: the model has seen that change, and retraining again will not undo it (the
    performance trigger watches what it does with it).
    """
    drift, tracker = known["drift"], known["tracker"]
    seen = (tracker or {}).get("newest_week_psi") or {}
    current = drift if drift and tracker and drift.get("model_version") == tracker["model_version"] else None
    moved, score = [], None
    if current and current["score"] is not None:
        moved = sorted(
            f for f, v in current["features"].items()
            if v is not None and v > policy["threshold"] and (seen.get("features", {}).get(f) or 0) <= policy["threshold"]
        )
        if current["score"] > policy["score_threshold"] and (seen.get("score") or 0) <= policy["score_threshold"]:
            score = current["score"]
    return {
        "enabled": policy["enabled"],
        "inputs": {"week": current["week"] if current else None, "features_over": moved,
                   "max_feature_psi": max((v for v in current["features"].values() if v is not None), default=None)
                   if current else None,
                   "score_psi": current["score"] if current else None},
        "threshold": {"threshold": policy["threshold"], "min_features": policy["min_features"],
                      "score_threshold": policy["score_threshold"]},
        "fired": bool(policy["enabled"] and (len(moved) >= policy["min_features"] or score is not None)),
    }


TRIGGERS: dict[str, Trigger] = {"time": time_trigger, "performance": performance_trigger, "drift": drift_trigger}


def training_window(week: str, window_weeks: int, valid_weeks: int, label_delay_weeks: int = 0) -> dict:
    """The weeks a model trained for `week` learns from: the newest `window_weeks` weeks
    whose outcomes are known at the start of `week`, the last `valid_weeks` held out."""
    weeks = labelled_window(week, window_weeks, label_delay_weeks)
    return {
        "weeks": weeks,
        "train_weeks": weeks[:-valid_weeks],
        "valid_weeks": weeks[-valid_weeks:],
    }


def window_guard(train_labels: list[str], valid_rows: int, classes: list[str], minimums: dict) -> dict:
    """Whether a training window is large enough to train on: enough training rows, enough
    of every class, and a validation part. `minimums`: train.min_rows, train.min_class_rows."""
    per_class = {c: 0 for c in classes}
    for label in train_labels:
        per_class[label] += 1
    problems = []
    if len(train_labels) < minimums["min_rows"]:
        problems.append(f"{len(train_labels)} training rows, fewer than train.min_rows {minimums['min_rows']}")
    for c, n in per_class.items():
        if n < minimums["min_class_rows"]:
            problems.append(f"{n} training rows of class {c}, fewer than train.min_class_rows {minimums['min_class_rows']}")
    if valid_rows == 0:
        problems.append("no labelled row in the validation weeks")
    return {
        "inputs": {"train_rows": len(train_labels), "train_rows_per_class": per_class, "valid_rows": valid_rows},
        "threshold": dict(minimums),
        "passed": not problems,
        "problems": problems,
    }


def decide(week: str, policy: dict, known: dict, window: dict, guard: dict | None = None) -> dict:
    """Retrain or not at the start of `week`, and why.

    `known` is what is known at the start of the week: `tracker`, the previous week's
    (None: the initial-training path), `evaluations`, those known, oldest first, and
    `drift`, the newest week's drift.json (None before the first). `window` is the
    training window (see training_window) and `guard` its window_guard, worked out only
    when a trigger fires: a failed guard keeps the serving model.
    """
    tracker = known["tracker"]
    evaluations = known["evaluations"]
    triggers = {
        "initial": {
            "enabled": True,
            "inputs": {"serving_model": tracker.get("model_version") if tracker else None},
            "threshold": None,
            "fired": tracker is None,
        }
    }
    for name, trigger in TRIGGERS.items():
        triggers[name] = trigger(week, policy[name], known)
    reasons = [name for name, t in triggers.items() if t["fired"]]
    blocked = bool(reasons) and guard is not None and not guard["passed"]
    return {
        "week": week,
        "retrain": bool(reasons) and not blocked,
        "reasons": reasons,
        "blocked": "; ".join(guard["problems"]) if blocked else None,
        "triggers": triggers,
        "evaluation_seen": evaluations[-1]["week"] if evaluations else None,
        "guard": guard if reasons else None,
        "training_window": window if reasons and not blocked else None,
    }
