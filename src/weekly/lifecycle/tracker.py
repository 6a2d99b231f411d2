"""The tracker: the serving state after a week's decision, carried from week to week."""
from __future__ import annotations


# Retraining reasons that are findings of the evidence windows (weekly.lifecycle.evidence)
EVIDENCE_REASONS = ("performance", "drift")


def epoch(state: dict) -> str:
    """Where the serving model's evidence windows start (see weekly.lifecycle.evidence.pool_weeks):
    the last week that promoted a model or decided on evidence."""
    return state.get("epoch") or state["last_retraining_date"]


def carry_over(previous: dict, week: str, why: str | None = None, reasons: list[str] = ()) -> dict:
    """The state of a week that did not retrain: the previous model keeps serving.

    `why` says why a retraining that was due did not replace it (a blocked window, no
    eligible candidate, the challenger gate); None when none was due. A decision taken on
    evidence (`reasons`: performance, drift) starts a new epoch even so: the next decision
    waits for fresh evidence instead of reading the same again.
    """
    state = {k: v for k, v in previous.items() if k != "kept_because"}
    fresh = {"epoch": week} if set(reasons) & set(EVIDENCE_REASONS) else {"epoch": epoch(previous)}
    return {**state, "week": week, "retrained": False, **fresh, **({"kept_because": why} if why else {})}


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
        "auc_score": winner["valid_metrics"].get("auc"),
        # the sampling error of those validation scores, which the performance trigger weighs
        "validation_se": winner["valid_metrics"].get("se"),
        "valid_weeks": winner.get("valid_weeks"),
        "threshold": winner.get("threshold"),  # binary: the decision threshold chosen on validation
        "calibration": winner.get("calibration"),  # its probabilities' maps (weekly.modelling.calibration)
        # on its validation rows, raw and calibrated: log loss and expected calibration error
        "calibration_check": winner["valid_metrics"].get("calibration_check"),
        "newest_week_psi": winner.get("newest_week_psi"),
        "registration_date": week,
        "epoch": week,  # its evidence windows start here (weekly.lifecycle.evidence)
        "model_uri": registration["model_uri"],
        "registration_key": registration["registration_key"],  # checked against the registry's version
        "model_alias": registration["alias"],
        "model_path": winner["model_path"],
        "model_sha256": winner["model_sha256"],  # the served file's bytes, checked before it scores
        "trained_until": winner["window"][-1],  # the newest week it learned from
        "selection": selection,
    }
