"""The tracker: the serving state after a week's decision, carried from week to week."""
from __future__ import annotations


def carry_over(previous: dict, week: str) -> dict:
    """The state of a week that did not retrain: the previous model keeps serving."""
    return {**previous, "week": week, "retrained": False}


def after_retraining(week: str, winner: dict, selection: dict, registration: dict) -> dict:
    """The state of a week that retrained: the registered winner serves from this week on."""
    return {
        "week": week,
        "retrained": True,
        "last_retraining_date": week,
        "model_name": registration["model_name"],
        "model_version": registration["version"],
        "model_type": winner["algo"],
        "macro_f1_score": winner["valid_metrics"]["macro_f1"],
        "registration_date": week,
        "model_uri": registration["model_uri"],
        "model_path": winner["model_path"],
        "selection": selection,
    }
