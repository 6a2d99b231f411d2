"""The retraining decision taken at the start of a week, from the state the previous week left.

Each trigger is a pure function returning its inputs, threshold and verdict, so that
`decision.json` says why a week retrained; a new trigger is one more entry in TRIGGERS.
"""
from __future__ import annotations

from typing import Callable

from weekly.weeks import days_between, labelled_window

Trigger = Callable[[str, dict, dict | None, dict | None], dict]


def time_trigger(week: str, policy: dict, tracker: dict | None, evaluation: dict | None) -> dict:
    """Fires when `max_days` or more days have passed since the last retraining."""
    last = tracker["last_retraining_date"] if tracker else None
    days = days_between(last, week) if last else None
    return {
        "enabled": policy["enabled"],
        "inputs": {"last_retraining_date": last, "days_since_last_retraining": days},
        "threshold": {"max_days": policy["max_days"]},
        "fired": bool(policy["enabled"] and days is not None and days >= policy["max_days"]),
    }


TRIGGERS: dict[str, Trigger] = {"time": time_trigger}


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


def decide(
    week: str,
    policy: dict,
    tracker: dict | None,
    evaluation: dict | None,
    window: dict,
    guard: dict | None = None,
) -> dict:
    """Retrain or not at the start of `week`, and why.

    `tracker` is the previous week's, `evaluation` the newest one known at the start of
    the week (None when there is none yet; no tracker means the initial-training path).
    `window` is the training window (see training_window) and `guard` its window_guard,
    worked out only when a trigger fires: a failed guard keeps the serving model.
    """
    triggers = {
        "initial": {
            "enabled": True,
            "inputs": {"serving_model": tracker.get("model_version") if tracker else None},
            "threshold": None,
            "fired": tracker is None,
        }
    }
    for name, trigger in TRIGGERS.items():
        triggers[name] = trigger(week, policy[name], tracker, evaluation)
    reasons = [name for name, t in triggers.items() if t["fired"]]
    blocked = bool(reasons) and guard is not None and not guard["passed"]
    return {
        "week": week,
        "retrain": bool(reasons) and not blocked,
        "reasons": reasons,
        "blocked": "; ".join(guard["problems"]) if blocked else None,
        "triggers": triggers,
        "evaluation_seen": evaluation["week"] if evaluation else None,
        "guard": guard if reasons else None,
        "training_window": window if reasons and not blocked else None,
    }
