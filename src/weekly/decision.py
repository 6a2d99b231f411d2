"""The retraining decision taken at the start of a week, from the state the previous week left.

Each trigger is a pure function returning its inputs, threshold and verdict, so that
`decision.json` says why a week retrained; a new trigger is one more entry in TRIGGERS.
"""
from __future__ import annotations

from typing import Callable

from weekly.weeks import days_between, window

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


def training_window(week: str, window_weeks: int, valid_weeks: int) -> dict:
    """The weeks a model trained for `week` learns from: all strictly before `week`."""
    weeks = window(week, window_weeks)
    return {
        "weeks": weeks,
        "train_weeks": weeks[:-valid_weeks],
        "valid_weeks": weeks[-valid_weeks:],
    }


def decide(
    week: str,
    policy: dict,
    tracker: dict | None,
    evaluation: dict | None,
    window_weeks: int,
    valid_weeks: int,
) -> dict:
    """Retrain or not at the start of `week`, and why.

    `tracker` and `evaluation` are the previous week's files (None for the first week,
    which takes the initial-training path). Only data dated before `week` is involved.
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
    return {
        "week": week,
        "retrain": bool(reasons),
        "reasons": reasons,
        "triggers": triggers,
        "training_window": training_window(week, window_weeks, valid_weeks) if reasons else None,
    }
