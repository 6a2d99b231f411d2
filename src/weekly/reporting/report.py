"""The backfill's reports: one row per week, and a summary."""
from __future__ import annotations

import math

import pandas as pd

from weekly.lifecycle.metrics import macro_auc

COLUMNS = ["week", "macro_f1", "auc", "accuracy", "rows", "applications", "evaluated", "too_small",
           "judged", "pooled_macro_f1", "pooled_low", "pooled_high", "pooled_weeks", "pooled_rows",
           "model_version", "model_type", "retrained",
           # expected when the week was scored, from the calibrated probabilities (estimate.json):
           # the only figures of a week awaiting its outcomes; beside the realized ones once they land
           "estimated_macro_f1", "estimated_low", "estimated_high", "estimated_auc", "estimate_error",
           "estimate_covered",
           # the evidence window's gains table (KS, bands whose event rate moved from validation) and
           # the protected attribute's lowest approval-rate ratio between groups
           "pooled_ks", "bands_flagged", "approval_ratio_between"]


def _estimated(ev: dict | None, pending: dict | None) -> dict:
    """A week's estimated macro F1 (interval) and AUC: recorded in its evaluation once its
    outcomes landed (with the error, estimated - realized, and whether the interval held the
    realized figure), else its estimate.json (the week alone)."""
    if ev is not None and ev.get("estimate"):
        f1, auc = ev["estimate"]["macro_f1"], ev["estimate"]["auc"]
        return {"estimated_macro_f1": f1["estimated"], "estimated_low": f1.get("low"), "estimated_high": f1.get("high"),
                "estimated_auc": auc["estimated"], "estimate_error": f1["error"], "estimate_covered": f1["covered"]}
    alone = (pending or {}).get("week_alone") or {}
    f1, auc = alone.get("macro_f1") or {}, alone.get("auc") or {}
    return {"estimated_macro_f1": f1.get("value"), "estimated_low": f1.get("low"), "estimated_high": f1.get("high"),
            "estimated_auc": auc.get("value"), "estimate_error": None, "estimate_covered": None}


def weekly_rows(trackers: list[dict], evaluations: dict[str, dict], applications: dict[str, int] | None = None,
                estimates: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per week: the serving model, whether the week retrained, the applications
    scored (`applications` by week), and, once its outcomes are known, its macro F1, AUC
    (binary, or the mean one-vs-rest AUC of the classes), accuracy and labelled rows
    (`evaluations` by week); and its estimated macro F1 and AUC (_estimated; `estimates`:
    the estimate.json of the weeks awaiting outcomes, by week)."""
    applications, estimates = applications or {}, estimates or {}
    unknown = sorted(set(evaluations) - {tr["week"] for tr in trackers})
    if unknown:
        raise ValueError(f"evaluation of week {unknown[0]} has no tracker")
    rows = []
    for tr in trackers:
        ev = evaluations.get(tr["week"])
        pooled = (ev or {}).get("pooled") or {}
        f1 = pooled.get("macro_f1") or {}
        rows.append({
            "week": tr["week"],
            "macro_f1": ev["macro_f1"] if ev else None,
            "auc": macro_auc(ev["risk"]) if ev else None,
            "accuracy": ev["accuracy"] if ev else None,
            "rows": ev["rows"] if ev else None,
            "applications": ev["applications"] if ev else applications.get(tr["week"]),
            "evaluated": ev is not None,
            "too_small": bool(ev["too_small"]) if ev else None,
            # the week's evidence window: its newest outcomes pooled back (weekly.lifecycle.evidence)
            "judged": bool(pooled.get("judged")) if ev else None,
            "pooled_macro_f1": f1.get("value"),
            "pooled_low": f1.get("low"),
            "pooled_high": f1.get("high"),
            "pooled_weeks": len(pooled["weeks"]) if pooled else None,
            "pooled_rows": pooled.get("rows"),
            "model_version": str(tr["model_version"]),
            "model_type": tr["model_type"],
            "retrained": bool(tr["retrained"]),
            **_estimated(ev, estimates.get(tr["week"])),
            "pooled_ks": (pooled.get("gains") or {}).get("ks"),
            "bands_flagged": len(pooled["gains"]["flagged_bands"]) if pooled.get("gains") else None,
            "approval_ratio_between": (pooled.get("fairness") or {}).get("approval_ratio_between"),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def summarise(rows: pd.DataFrame, models: list[str] = ()) -> dict:
    """Weeks, retrainings, the weeks judged through their evidence windows and the mean and
    worst of those pooled macro F1 figures; mean and worst weekly macro F1 and AUC over the
    weeks large enough to judge alone (not too small); wins per model type (every one of
    `models`, the configured candidates, listed even at 0, so that the keys stay put across
    experiments), and the last week."""
    judged = rows[rows["evaluated"] & (rows["too_small"] == False) & rows["macro_f1"].notna()]  # noqa: E712
    pooled = rows[rows["evaluated"] & (rows["judged"] == True) & rows["pooled_macro_f1"].notna()]  # noqa: E712
    worst_pooled = pooled.loc[pooled["pooled_macro_f1"].astype(float).idxmin()] if len(pooled) else None
    worst = judged.loc[judged["macro_f1"].astype(float).idxmin()] if len(judged) else None
    evaluated = rows[rows["evaluated"]]
    last, last_evaluated = rows.iloc[-1], (evaluated.iloc[-1] if len(evaluated) else None)
    wins = rows.loc[rows["retrained"], "model_type"].value_counts()
    return {
        "weeks": int(len(rows)),
        "first_week": str(rows["week"].iloc[0]),
        "last_week": str(last["week"]),
        "retrains": int(rows["retrained"].sum()),
        "evaluated_weeks": int(len(evaluated)),
        "judged_weeks": int(len(pooled)),
        "judged_alone_weeks": int(len(judged)),
        "mean_pooled_macro_f1": _number(pooled["pooled_macro_f1"].astype(float).mean()) if len(pooled) else None,
        "worst_pooled_macro_f1": _number(worst_pooled["pooled_macro_f1"]) if worst_pooled is not None else None,
        "worst_pooled_week": str(worst_pooled["week"]) if worst_pooled is not None else None,
        "too_small_weeks": int((rows["too_small"] == True).sum()),  # noqa: E712
        "awaiting_outcomes": int((~rows["evaluated"]).sum()),
        "mean_macro_f1": _number(judged["macro_f1"].astype(float).mean()) if len(judged) else None,
        "worst_macro_f1": _number(worst["macro_f1"]) if worst is not None else None,
        "worst_week": str(worst["week"]) if worst is not None else None,
        "mean_auc": _number(judged["auc"].astype(float).mean()) if len(judged) else None,
        "worst_auc": _number(judged["auc"].astype(float).min()) if len(judged) else None,
        "mean_accuracy": _number(judged["accuracy"].astype(float).mean()) if len(judged) else None,
        "wins": {algo: int(wins.get(algo, 0)) for algo in sorted(set(models) | set(rows["model_type"]) | set(wins.index))},
        "last_evaluated_week": str(last_evaluated["week"]) if last_evaluated is not None else None,
        "last_week_macro_f1": _number(last_evaluated["macro_f1"]) if last_evaluated is not None else None,
        "last_week_model_version": str(last["model_version"]),
        "last_week_model_type": str(last["model_type"]),
        **estimate_summary(rows),
    }


def estimate_summary(rows: pd.DataFrame) -> dict:
    """How the estimates did once the outcomes landed, over the weeks judged alone: mean
    absolute error of the estimated macro F1 and the share of weeks whose interval held
    the realized figure."""
    checked = rows[rows["evaluated"] & (rows["too_small"] == False) & rows["estimate_error"].notna()]  # noqa: E712
    return {
        "estimated_weeks": int(len(checked)),
        "estimate_mae_macro_f1": _number(checked["estimate_error"].astype(float).abs().mean()) if len(checked) else None,
        "estimate_coverage": _number(checked["estimate_covered"].astype(float).mean()) if len(checked) else None,
    }


def _f1(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def summary_line(summary: dict) -> str:
    """The console line closing a backfill."""
    line = (
        f"{summary['weeks']} weeks, {summary['retrains']} retrainings, mean macro F1 {_f1(summary['mean_macro_f1'])}, "
        f"worst {_f1(summary['worst_macro_f1'])} ({summary['worst_week']})"
    )
    if summary["too_small_weeks"]:
        line += (f", {summary['too_small_weeks']} weeks too small to judge alone ({summary['judged_weeks']} judged "
                 f"through their evidence windows, mean pooled macro F1 {_f1(summary['mean_pooled_macro_f1'])})")
    if summary["awaiting_outcomes"]:
        line += f", {summary['awaiting_outcomes']} weeks awaiting outcomes"
    return line


def week_line(decision: dict, tracker: dict, evaluation: dict) -> str:
    """The console line of an evaluated week: what the decision did and why, the serving
    model, macro F1. A retraining that was due but did not replace the model (a window too
    small, no candidate fit to serve) reads "kept"."""
    reasons = ", ".join(decision["reasons"])
    verdict = f"retrain ({reasons})" if tracker["retrained"] else f"kept ({reasons})" if reasons else "keep"
    serving = f"{evaluation['model_type']} v{evaluation['model_version']}"
    f1 = "no outcome" if evaluation["macro_f1"] is None else f"macro F1 {evaluation['macro_f1']:.3f}"
    small = ", too small to judge" if evaluation["too_small"] and evaluation["rows"] else ""
    return f"{evaluation['week']}  {verdict:<28} serving {serving:<28} {f1} on {evaluation['rows']} rows{small}"
