"""Choosing the week's model among the trained candidates."""
from __future__ import annotations


def select(candidates: list[dict], order: list[str]) -> dict:
    """The candidate with the best validation macro F1.

    Ties go to the algorithm listed first in `order` (params.yaml train.models), so the
    choice never depends on file or dict order. Both scores are kept for the record.
    """
    if not candidates:
        raise ValueError("no trained candidate to select from")
    ranked = sorted(candidates, key=lambda c: (-c["valid_metrics"]["macro_f1"], order.index(c["algo"])))
    best = ranked[0]
    return {
        "winner": best["algo"],
        "scores": {c["algo"]: c["valid_metrics"]["macro_f1"] for c in candidates},
        "tie": len(ranked) > 1 and ranked[1]["valid_metrics"]["macro_f1"] == best["valid_metrics"]["macro_f1"],
        "tie_break": list(order),
    }
