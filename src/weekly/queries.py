"""Questions a person asks the chain, answered from its files: where it stands, and why a
week went the way it did.

Only JSON files are read and no heavy library is imported, so `weekly status` and
`weekly explain` answer at once.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from weekly import decision as decision_logic
from weekly import paths
from weekly import weeks as calendar
from weekly.errors import WeeklyError
from weekly.metrics import macro_auc


class QueryError(WeeklyError):
    """A question the chain's files cannot answer yet (a week not run, not in the chain)."""


def _json(path: str) -> dict | None:
    return json.loads(Path(path).read_text()) if os.path.exists(path) else None


def _serving(tracker: dict) -> dict:
    return {key: tracker.get(key) for key in (
        "model_version", "model_type", "model_uri", "model_alias", "last_retraining_date", "macro_f1_score",
        "auc_score", "trained_until", "model_path")}


def _evaluation(ev: dict | None) -> dict | None:
    if ev is None:
        return None
    risk = ev.get("risk") or {}
    return {"macro_f1": ev["macro_f1"], "auc": macro_auc(risk) if risk else None, "accuracy": ev["accuracy"],
            "rows": ev["rows"], "too_small": ev["too_small"], "brier": risk.get("brier"),
            "log_loss": risk.get("log_loss"), "classes_present": ev.get("classes_present"),
            "pooled": _pooled(ev.get("pooled"))}


def _pooled_drift(pooled: dict | None) -> dict | None:
    # the drift test over the newest applications pooled back (weekly.drift.pooled_drift)
    if not pooled:
        return None
    moved = {f: t["psi"] for f, t in (pooled.get("features") or {}).items() if t["moved"]}
    missing = [f for f, m in (pooled.get("missing") or {}).items() if m["finding"]]
    return {"weeks": len(pooled["weeks"]), "rows": pooled["rows"], "judged": pooled["judged"],
            "why_not": pooled["why_not"], "moved": moved, "score_moved": bool((pooled.get("score") or {}).get("moved")),
            "turned_missing": missing}


def _pooled(pooled: dict | None) -> dict | None:
    # the evidence window the week is judged through (weekly.evidence)
    if not pooled:
        return None
    return {"weeks": len(pooled["weeks"]), "first_week": pooled["first_week"], "last_week": pooled["last_week"],
            "rows": pooled["rows"], "judged": pooled["judged"], "why_not": pooled["why_not"],
            "macro_f1": pooled["macro_f1"], "auc": pooled["auc"], "single_class": pooled["single_class"]}


def status(params: dict) -> dict:
    """Weeks done and pending, the serving model, and the next week's decision as it stands:
    each trigger's inputs and verdict from what is known now (the training window's guard
    is checked when the week runs)."""
    chain = calendar.chain(params["start"], params["end"])
    done = [w for w in chain if os.path.exists(paths.TRACKER.format(week=w))]
    evaluated = [w for w in done if os.path.exists(paths.EVALUATION.format(week=w))]
    answer = {
        "start": params["start"], "end": params["end"], "weeks": len(chain), "done": len(done),
        "pending": [w for w in chain if w not in set(done)],
        "awaiting_outcomes": [w for w in done if w not in set(evaluated)],
        "last_done": done[-1] if done else None, "serving": None, "next_week": None,
    }
    if not done:
        return answer
    last = _json(paths.TRACKER.format(week=done[-1]))
    answer["serving"] = _serving(last)
    answer["retrainings"] = sum(bool(_json(paths.TRACKER.format(week=w)).get("retrained")) for w in done)
    following = (calendar.parse_week(done[-1]) + dt.timedelta(days=7)).isoformat()
    answer["next_week"] = next_decision(params, following, last)
    return answer


def next_decision(params: dict, week: str, tracker: dict) -> dict:
    """What the decision of `week` looks at, from the files there now, and what its triggers say."""
    k, retrain = params["data"]["label_delay_weeks"], params["retrain"]
    newest = calendar.newest_labelled(week, k)
    seen = [newest] if newest >= params["start"] else []
    known = {"tracker": tracker, "drift": _json(paths.DRIFT.format(week=calendar.previous(week))),
             "evaluations": [e for e in (_json(paths.EVALUATION.format(week=w)) for w in seen) if e is not None]}
    window = decision_logic.training_window(week, params["train"]["window_weeks"], params["train"]["valid_weeks"], k)
    verdict = decision_logic.decide(week, retrain, known, window)
    return {"week": week, "in_chain": week <= params["end"], "evaluations_it_sees": seen,
            "evaluations_known": [e["week"] for e in known["evaluations"]], "retrain": verdict["retrain"],
            "reasons": verdict["reasons"], "triggers": verdict["triggers"],
            "training_window": {"first": window["weeks"][0], "last": window["weeks"][-1]}}


def explain(params: dict, week: str) -> dict:
    """Who served `week` and why: the decision with each trigger's inputs, threshold and
    verdict; the serving model (and the selection on a retraining week); the week's metrics
    once its outcomes are known; its most drifted features."""
    chain = calendar.chain(params["start"], params["end"])
    if week not in chain:
        raise QueryError(f"{week} is not a week of the chain: weeks run every 7 days from {params['start']} "
                         f"to {params['end']} (params.yaml)")
    tracker = _json(paths.TRACKER.format(week=week))
    decision = _json(paths.DECISION.format(week=week))
    if tracker is None or decision is None:
        raise QueryError(f"week {week} has not run yet: `snakemake --cores all weeks/{week}/tracker.json` runs it")
    drift = _json(paths.DRIFT.format(week=week)) or {}
    features = sorted(((name, value) for name, value in (drift.get("features") or {}).items() if value is not None),
                      key=lambda item: -item[1])
    return {
        "week": week,
        "retrain": decision["retrain"], "reasons": decision["reasons"], "blocked": decision.get("blocked"),
        "evaluation_seen": decision.get("evaluation_seen"), "triggers": decision["triggers"],
        "retrained": bool(tracker.get("retrained")), "kept_because": tracker.get("kept_because"),
        "serving": _serving(tracker), "selection": tracker.get("selection"),
        "evaluation": _evaluation(_json(paths.EVALUATION.format(week=week))),
        "drift": {"score_psi": drift.get("score"), "top_features": dict(features[:5]), "rows": drift.get("rows"),
                  "pooled": _pooled_drift(drift.get("pooled"))},
    }
