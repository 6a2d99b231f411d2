"""Choosing the week's model among the trained candidates."""
from __future__ import annotations

# Validation figures a winner can be chosen by, and whether higher is better.
METRICS = {"macro_f1": True, "auc": True, "log_loss": False}


def ineligible(candidate: dict) -> str | None:
    """Why a trained candidate may not be promoted, or None."""
    if candidate["valid_metrics"]["predicted_classes"] <= 1:
        return f"predicts one class for all {candidate['valid_rows']} validation rows"
    return None


def _score(candidate: dict, metric: str) -> float | None:
    return candidate["valid_metrics"].get(metric)


def select(candidates: list[dict], order: list[str], metric: str = "macro_f1") -> dict:
    """The eligible candidate with the best validation `metric` (train.selection.metric;
    winner None when none is eligible).

    A candidate predicting a single class on all its validation rows is never promoted,
    nor one without the metric (an AUC of validation weeks holding one class). Ties go to
    the algorithm listed first in `order` (params.yaml train.models), so the choice never
    depends on file or dict order. Every score is kept for the record.
    """
    if not candidates:
        raise ValueError("no trained candidate to select from")
    higher = METRICS[metric]
    excluded = {c["algo"]: why for c in candidates if (why := ineligible(c))}
    excluded.update({c["algo"]: f"no validation {metric}" for c in candidates
                     if c["algo"] not in excluded and _score(c, metric) is None})
    eligible = [c for c in candidates if c["algo"] not in excluded]
    ranked = sorted(eligible, key=lambda c: ((-1 if higher else 1) * _score(c, metric), order.index(c["algo"])))
    best = ranked[0] if ranked else None
    return {
        "winner": best["algo"] if best else None,
        "metric": metric,
        "scores": {c["algo"]: c["valid_metrics"]["macro_f1"] for c in candidates},
        "metric_scores": {c["algo"]: _score(c, metric) for c in candidates},
        "excluded": excluded,
        "tie": len(ranked) > 1 and _score(ranked[1], metric) == _score(best, metric),
        "tie_break": list(order),
    }
