"""Choosing the week's model among the trained candidates."""
from __future__ import annotations


def ineligible(candidate: dict) -> str | None:
    """Why a trained candidate may not be promoted, or None."""
    if candidate["valid_metrics"]["predicted_classes"] <= 1:
        return f"predicts one class for all {candidate['valid_rows']} validation rows"
    return None


def select(candidates: list[dict], order: list[str]) -> dict:
    """The eligible candidate with the best validation macro F1 (winner None when none is).

    A candidate predicting a single class on all its validation rows is never promoted.
    Ties go to the algorithm listed first in `order` (params.yaml train.models), so the
    choice never depends on file or dict order. Every score is kept for the record.
    """
    if not candidates:
        raise ValueError("no trained candidate to select from")
    excluded = {c["algo"]: why for c in candidates if (why := ineligible(c))}
    eligible = [c for c in candidates if c["algo"] not in excluded]
    ranked = sorted(eligible, key=lambda c: (-c["valid_metrics"]["macro_f1"], order.index(c["algo"])))
    best = ranked[0] if ranked else None
    return {
        "winner": best["algo"] if best else None,
        "scores": {c["algo"]: c["valid_metrics"]["macro_f1"] for c in candidates},
        "excluded": excluded,
        "tie": len(ranked) > 1 and ranked[1]["valid_metrics"]["macro_f1"] == best["valid_metrics"]["macro_f1"],
        "tie_break": list(order),
    }
