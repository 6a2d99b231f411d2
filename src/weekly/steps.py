"""The workflow's steps: read inputs, call the pure logic, write outputs atomically.

Snakemake's rules, the scripts in `scripts/` and the benchmark's loop call these
functions, always by keyword. A step's keywords are the names its rule gives to its
wildcards, input, output and params, so a rule passes them all at once; paths always
come from the caller. Every step takes `log=` (its job log, see weekly.logs). Heavy
libraries are imported only by the steps that need them.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from weekly import decision as decision_logic
from weekly import models, provenance, selection
from weekly import report as report_logic
from weekly import tracker as tracker_logic
from weekly.data import feature_names, labels, read_week, read_weeks
from weekly.errors import StepError
from weekly.io import atomic_dir, read_json, write_csv, write_json, write_parquet
from weekly.logs import PROGRESS, logged
from weekly.metrics import classification_report
from weekly.weeks import parse_week

log = logging.getLogger(__name__)
progress = logging.getLogger(PROGRESS)

EXAMPLE_ROWS = 5


@logged
def generate_week(*, week: str, raw: str, rows: int, seed: int) -> None:
    """Write the embedded default data of one week to `raw`."""
    from weekly.generate import generate_week as generate

    frame = generate(parse_week(week), rows, seed)
    write_parquet(raw, frame)
    log.info("generated %d rows for week %s (seed %d) -> %s", len(frame), week, seed, raw)


def _read_optional(path: str | None) -> dict | None:
    return read_json(path) if path else None


@logged
def decide(
    *,
    week: str,
    decision: str,
    retrain: dict,
    window_weeks: int,
    valid_weeks: int,
    tracker: str | None = None,
    evaluation: str | None = None,
) -> dict:
    """Take the retraining decision of `week` (written to `decision`) from the previous
    week's tracker and evaluation (none for the first week)."""
    result = decision_logic.decide(
        week, retrain, _read_optional(tracker), _read_optional(evaluation), window_weeks, valid_weeks
    )
    write_json(decision, result)
    log.info("week %s: retrain=%s reasons=%s", week, result["retrain"], result["reasons"])
    return result


@logged
def train(
    *,
    algo: str,
    week: str,
    decision: str,
    window: list[str],
    candidate: str,
    model: str,
    columns: dict,
    hyper: dict,
    seed: int,
    threads: int,
) -> dict:
    """Train one candidate when the week's decision says so; record it in `candidate` either way.

    `window` lists the raw files of the training window, oldest first. The native model,
    its metrics and an input example go to the folder `model`, put in place in one rename;
    on a week that does not retrain, the folder is left empty.
    """
    verdict = read_json(decision)
    if not verdict["retrain"]:
        Path(model).mkdir(parents=True, exist_ok=True)
        record = {"algo": algo, "week": week, "trained": False}
        write_json(candidate, record)
        log.info("week %s: no retraining, %s not trained", week, algo)
        return record
    weeks = verdict["training_window"]
    if len(window) != len(weeks["weeks"]):
        raise StepError(
            f"week {week}: {len(window)} window files given for the {len(weeks['weeks'])} weeks "
            f"of the training window in {decision}"
        )
    frame = read_weeks(window, weeks["weeks"], columns)
    train_part, valid_part = models.split_window(frame, columns["date"], week, weeks["valid_weeks"])
    log.info("week %s: %s on %d training and %d validation rows", week, algo, len(train_part), len(valid_part))
    fitted, fit_metrics = models.fit_and_validate(algo, train_part, valid_part, columns, hyper, seed, threads)
    example = valid_part[feature_names(columns)].head(EXAMPLE_ROWS)
    model_path = models.native_path(algo, model)
    with atomic_dir(model) as tmp:
        models.save(algo, fitted, tmp)
        write_json(tmp / "metrics.json", fit_metrics)
        write_parquet(tmp / "input_example.parquet", example)
    record = {
        "algo": algo,
        "week": week,
        "trained": True,
        "model_path": str(model_path),
        "metrics_path": str(Path(model) / "metrics.json"),
        "example_path": str(Path(model) / "input_example.parquet"),
        "valid_metrics": fit_metrics["valid"],
        "train_rows": fit_metrics["train_rows"],
        "valid_rows": fit_metrics["valid_rows"],
        "hyperparameters": hyper,
        "seed": seed,
        "window": weeks["weeks"],
        "training_code": provenance.code_digest(provenance.TRAINING_CODE),
        "libraries": provenance.library_versions(algo),
        "fingerprint": provenance.fingerprint(algo, week, [columns, hyper, seed, threads], window),
        "model_sha256": provenance.file_digest(model_path),
    }
    write_json(candidate, record)
    log.info(
        "week %s: %s trained in %s s, validation macro F1 %.4f -> %s",
        week, algo, fit_metrics["fit_seconds"], fit_metrics["valid"]["macro_f1"], model_path,
    )
    return record


@logged
def register(
    *,
    week: str,
    decision: str,
    candidates: list[str],
    tracker: str,
    registry: dict,
    columns: dict,
    previous_tracker: str | None = None,
) -> dict:
    """Select, register and promote the week's winner, or carry the previous tracker over;
    the week's serving state goes to `tracker`.

    `candidates` come in the order of params.yaml train.models, which breaks ties.
    """
    if not read_json(decision)["retrain"]:
        if previous_tracker is None:
            raise StepError(f"week {week}: no retraining and no previous tracker: nothing can serve this week")
        state = tracker_logic.carry_over(read_json(previous_tracker), week)
        write_json(tracker, state)
        log.info("week %s: no retraining, version %s keeps serving", week, state["model_version"])
        return state
    from weekly import registry as mlflow_registry

    records = [read_json(p) for p in candidates]
    trained = [c for c in records if c["trained"]]
    chosen = selection.select(trained, [c["algo"] for c in records])
    winner = next(c for c in trained if c["algo"] == chosen["winner"])
    example = pd.read_parquet(winner["example_path"])
    registration = mlflow_registry.register_week(week, trained, chosen["winner"], registry, example, columns)
    state = tracker_logic.after_retraining(week, winner, chosen, registration)
    write_json(tracker, state)
    log.info(
        "week %s: scores %s, winner %s, %s %s",
        week, chosen["scores"], chosen["winner"],
        "reused" if registration["reused"] else "registered", registration["model_uri"],
    )
    return state


@functools.lru_cache(maxsize=4)
def _serving_model(algo: str, path: str, mtime_ns: int) -> Any:
    # Weeks that do not retrain reuse the model loaded for the week before.
    return models.load(algo, path)


@logged
def predict(*, week: str, tracker: str, raw: str, preds: str, columns: dict) -> pd.DataFrame:
    """Score the week's applications with the model that serves the week; write them to `preds`."""
    state = read_json(tracker)
    frame = read_week(raw, week, columns)
    path = state["model_path"]
    if not os.path.exists(path):
        raise StepError(
            f"week {week}: {path}, the model serving the week ({tracker}), is missing: "
            "`snakemake all_weeks` rebuilds it"
        )
    model = _serving_model(state["model_type"], path, os.stat(path).st_mtime_ns)
    proba = models.predict_proba(state["model_type"], model, frame, columns)
    classes = labels(columns)
    scored = pd.DataFrame({
        columns["id"]: frame[columns["id"]],
        columns["date"]: frame[columns["date"]],
        "prediction": models.predicted_labels(proba, classes),
        **{f"proba_{c}": proba[:, i] for i, c in enumerate(classes)},
        "model_version": str(state["model_version"]),
        "model_type": state["model_type"],
    })
    write_parquet(preds, scored)
    log.info("week %s: scored %d rows with %s version %s", week, len(scored), state["model_type"], state["model_version"])
    return scored


@logged
def evaluate(*, week: str, decision: str, preds: str, raw: str, evaluation: str, columns: dict) -> dict:
    """Evaluate the serving model on the week's labels, from its predictions; write `evaluation`.

    Also says on the console how the week went (see report.week_line).
    """
    scored = pd.read_parquet(preds)
    frame = read_week(raw, week, columns)
    truth = frame.set_index(columns["id"])[columns["target"]]
    if len(truth) != len(scored) or not truth.index.equals(pd.Index(scored[columns["id"]])):
        raise StepError(f"week {week}: {preds} does not hold the ids of {raw}, in the same order")
    result = {
        "week": week,
        "model_version": str(scored["model_version"].iloc[0]),
        "model_type": str(scored["model_type"].iloc[0]),
        **classification_report(truth.tolist(), scored["prediction"].tolist(), labels(columns)),
    }
    write_json(evaluation, result)
    log.info("week %s: macro F1 %.4f on %d rows", week, result["macro_f1"], result["rows"])
    progress.info(report_logic.week_line(read_json(decision), result))
    return result


@logged
def report(*, trackers: list[str], evaluations: list[str], weekly: str, summary: str) -> dict:
    """The `weekly` CSV (one row per week) and the backfill's `summary`, from the weeks'
    trackers and evaluations in week order."""
    rows = report_logic.weekly_rows([read_json(p) for p in trackers], [read_json(p) for p in evaluations])
    figures = report_logic.summarise(rows)
    write_csv(weekly, rows)
    write_json(summary, figures)
    message = (
        f"{figures['weeks']} weeks, {figures['retrains']} retrainings, "
        f"mean macro F1 {figures['mean_macro_f1']:.4f}, worst {figures['worst_macro_f1']:.4f} ({figures['worst_week']})"
    )
    log.info(message)
    progress.info(message)
    return figures


@logged
def publish_tracker(*, tracker: str, latest: str) -> None:
    """Publish the last week's tracker as the latest serving state, `latest`."""
    state = read_json(tracker)
    write_json(latest, state)
    log.info("latest tracker: week %s, version %s", state["week"], state["model_version"])


@logged
def import_table(*, table: str, out_dir: str, columns: dict, start: str) -> list[str]:
    """Split one CSV or Parquet table into weekly raw files `<out_dir>/<week>.parquet`.

    Weeks are 7-day bins aligned on `start`; every week is validated like a raw file.
    """
    from weekly.data import DataError, check_week_frame, split_by_week

    path = Path(table)
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path}: unreadable table: {exc}") from None
    if columns["date"] not in frame.columns:
        raise DataError(f"{path}: missing date column '{columns['date']}'")
    try:
        parts = split_by_week(frame, columns["date"], start)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column '{columns['date']}' does not parse as dates: {exc}") from None
    written = []
    for week, part in parts.items():
        out = f"{out_dir}/{week}.parquet"
        write_parquet(out, check_week_frame(part, columns, str(path), week))
        written.append(out)
    log.info("%s: %d rows into %d weekly files under %s", path, len(frame), len(written), out_dir)
    return written
