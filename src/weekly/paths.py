"""Where each file of the workflow lives: patterns with `{week}` (and `{algo}`) fields, written once.

The rules (`rules/common.smk`), the benchmark's plain loop and the tests take their paths here.
"""
from __future__ import annotations

DECISION = "weeks/{week}/decision.json"
TRACKER = "weeks/{week}/tracker.json"
PREDS = "weeks/{week}/preds.parquet"
EVALUATION = "weeks/{week}/eval.json"
DRIFT = "weeks/{week}/drift.json"  # the week's applications against the serving model's training rows
ESTIMATE = "weeks/{week}/estimate.json"  # the week's performance expected from its probabilities (weekly.lifecycle.estimate)
EVIDENCE = "weeks/{week}/evidence.parquet"  # the labelled rows of the week's evidence window (weekly.lifecycle.evidence)
CANDIDATE = "weeks/{week}/candidates/{algo}.json"  # what a trainer did for the week, trained or not
MODEL_DIR = "models/{week}/{algo}"  # a trainer's native model (fitted on the training weeks), on retraining weeks
WINNER_DIR = "models/{week}/winner"  # the promoted winner refitted on the whole window: what serves from the week on
# inside a model's folder: its training rows' distributions and score bands, and its model card
REFERENCE = "reference.json"
CARD_JSON, CARD_HTML = "card.json", "card.html"
WEEKLY_REPORT = "reports/weekly.csv"
SUMMARY = "reports/summary.json"
LIFECYCLE_REPORT = "reports/lifecycle.html"  # the weeks at a glance, self-contained (weekly.reporting.page)
POLICIES_TABLE = "reports/policies.csv"  # the policy comparison (`weekly policies`), when it was made
POLICIES_PLOT = "reports/policies.svg"
PORTFOLIOS_TABLE = "reports/portfolios.csv"  # the portfolios side by side (`weekly portfolios`), when they ran
LATEST_TRACKER = "models/last_retraining_date.json"
ALERT_EVENTS = "reports/alerts.json"  # the chain's alerts, derived from its weeks' files (weekly.alerting.alerts)
ALERT_LOG = "reports/alerts.jsonl"  # append-only: every alert sent, when and where it went (weekly.alerting.senders)


def applications(raw_dir: str) -> str:
    """A week's applications under `raw_dir` (params.yaml data.raw_dir): what is scored."""
    return f"{raw_dir}/applications/{{week}}.parquet"


def outcomes(raw_dir: str) -> str:
    """A week's outcomes (id, label) under `raw_dir`: known label_delay_weeks after the week."""
    return f"{raw_dir}/outcomes/{{week}}.parquet"


def log(step: str, *wildcards: str) -> str:
    """The log of one job of `step`: `logs/<step>/{<wildcard>}/....log`, or `logs/<step>/<step>.log`."""
    parts = [f"{{{w}}}" for w in wildcards] or [step]
    return "/".join(["logs", step, *parts]) + ".log"
