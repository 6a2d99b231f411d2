"""The backfill's reports: one row per week, and a summary."""
from __future__ import annotations

import pandas as pd


def weekly_rows(trackers: list[dict], evaluations: list[dict]) -> pd.DataFrame:
    """One row per week: macro F1, accuracy, serving model, whether the week retrained, rows.

    Each week's tracker and evaluation name their week; they must come in matching pairs.
    """
    for tr, ev in zip(trackers, evaluations, strict=True):
        if tr["week"] != ev["week"]:
            raise ValueError(f"tracker of week {tr['week']} paired with the evaluation of week {ev['week']}")
    return pd.DataFrame(
        [
            {
                "week": tr["week"],
                "macro_f1": ev["macro_f1"],
                "accuracy": ev["accuracy"],
                "model_version": str(tr["model_version"]),
                "model_type": tr["model_type"],
                "retrained": bool(tr["retrained"]),
                "rows": ev["rows"],
            }
            for tr, ev in zip(trackers, evaluations)
        ],
        columns=["week", "macro_f1", "accuracy", "model_version", "model_type", "retrained", "rows"],
    )


def summarise(rows: pd.DataFrame) -> dict:
    """Weeks, retrainings, mean and worst weekly macro F1, wins per model type, and the last week."""
    worst = rows.loc[rows["macro_f1"].idxmin()]
    last = rows.iloc[-1]
    wins = rows.loc[rows["retrained"], "model_type"].value_counts()
    return {
        "weeks": int(len(rows)),
        "first_week": str(rows["week"].iloc[0]),
        "last_week": str(last["week"]),
        "retrains": int(rows["retrained"].sum()),
        "mean_macro_f1": float(rows["macro_f1"].mean()),
        "worst_macro_f1": float(worst["macro_f1"]),
        "worst_week": str(worst["week"]),
        "mean_accuracy": float(rows["accuracy"].mean()),
        "wins": {algo: int(wins.get(algo, 0)) for algo in sorted(set(rows["model_type"]) | set(wins.index))},
        "last_week_macro_f1": float(last["macro_f1"]),
        "last_week_model_version": str(last["model_version"]),
        "last_week_model_type": str(last["model_type"]),
    }


def week_line(decision: dict, evaluation: dict) -> str:
    """The console line of a finished week: decision and reasons, serving model, macro F1."""
    verdict = f"retrain ({', '.join(decision['reasons'])})" if decision["retrain"] else "keep"
    serving = f"{evaluation['model_type']} v{evaluation['model_version']}"
    return (
        f"{evaluation['week']}  {verdict:<22} serving {serving:<28} "
        f"macro F1 {evaluation['macro_f1']:.3f} on {evaluation['rows']} rows"
    )
