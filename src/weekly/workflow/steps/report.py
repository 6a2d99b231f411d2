"""Step report: the chain's weekly table and summary, and its MLflow monitoring run."""
from __future__ import annotations

import logging

from weekly.io import read_json, write_csv, write_json
from weekly.reporting import report as report_logic

log = logging.getLogger(__name__)
progress = logging.getLogger("weekly.progress")  # the console's one line per week




def report(
    *, trackers: list[str], drifts: list[str], evaluations: list[str], weekly: str, summary: str, registry: dict,
    models: list[str] = (), made_with: dict | None = None, estimates: list[str] = (),
) -> dict:
    """The `weekly` CSV (one row per week) and the backfill's `summary`, from the weeks'
    trackers and drifts (in week order) and the evaluations made so far (weeks whose
    outcomes are not known yet have none); the same weekly figures and the serving
    history go to MLflow as the chain's monitoring run. `models`: the configured candidates
    (train.models), each listed in the summary's wins. `made_with` (start, seed, data of
    params.yaml) is recorded in the summary as `params`: `weekly status` says when the files
    on disk come from other data. `estimates`: the estimate.json of the weeks awaiting their
    outcomes (an evaluated week's estimate is in its evaluation)."""
    from weekly.tracking import registry as mlflow_registry

    evaluated = {e["week"]: e for e in map(read_json, evaluations)}
    scored = {d["week"]: d["rows"] for d in map(read_json, drifts)}
    states = [read_json(p) for p in trackers]
    pending = {e["week"]: e for e in map(read_json, estimates)}
    rows = report_logic.weekly_rows(states, evaluated, scored, pending)
    figures = report_logic.summarise(rows, models)
    write_csv(weekly, rows)
    write_json(summary, {**figures, **({"params": made_with} if made_with is not None else {})})
    run_id = mlflow_registry.log_monitoring(registry=registry, rows=rows, evaluations=evaluated,
                          trackers=states)
    message = report_logic.summary_line(figures)
    log.info("%s; monitoring run %s", message, run_id)
    progress.info(message)
    return figures
