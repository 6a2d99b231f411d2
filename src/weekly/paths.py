"""Where each file of the workflow lives: patterns with a `{week}` field, written once.

The rules (`rules/common.smk`) and the benchmark's plain loop both take their paths here.
"""
from __future__ import annotations

DECISION = "weeks/{week}/decision.json"
TRACKER = "weeks/{week}/tracker.json"
PREDS = "weeks/{week}/preds.parquet"
EVALUATION = "weeks/{week}/eval.json"
WEEK_FILES = [DECISION, TRACKER, PREDS, EVALUATION]
WEEKLY_REPORT = "reports/weekly.csv"
SUMMARY = "reports/summary.json"
LATEST_TRACKER = "models/last_retraining_date.json"


def raw(raw_dir: str) -> str:
    """The raw file of a week under `raw_dir` (params.yaml data.raw_dir)."""
    return f"{raw_dir}/{{week}}.parquet"


def candidate(algo: str) -> str:
    """The record a trainer writes for the week, trained or not."""
    return f"weeks/{{week}}/candidates/{algo}.json"


def model_dir(algo: str) -> str:
    """Where a trainer puts its native model when the week retrains."""
    return f"models/{{week}}/{algo}"
