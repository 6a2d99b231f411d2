"""The workflow's steps: read inputs, call the pure logic, write outputs atomically.

Snakemake's rules and the scripts in `scripts/` both call these functions; paths always
come from the caller. Heavy libraries are imported only by the steps that need them.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from weekly import decision as decision_logic
from weekly import models, report, selection, tracker
from weekly.data import feature_names, labels, read_week, read_weeks
from weekly.io import StepLog, atomic_dir, read_json, write_csv, write_json, write_parquet
from weekly.metrics import classification_report
from weekly.weeks import parse_week

EXAMPLE_ROWS = 5


def generate_week(week: str, rows: int, seed: int, out: str, log: str | None = None) -> None:
    """Write the embedded default data of one week."""
    from weekly.generate import generate_week as generate

    frame = generate(parse_week(week), rows, seed)
    write_parquet(out, frame)
    StepLog(log)(f"generated {len(frame)} rows for week {week} (seed {seed}) -> {out}")


def _read_optional(path: str | None) -> dict | None:
    return read_json(path) if path else None


def decide(
    week: str,
    tracker_path: str | None,
    evaluation_path: str | None,
    out: str,
    retrain: dict,
    window_weeks: int,
    valid_weeks: int,
    log: str | None = None,
) -> dict:
    """Take the retraining decision of `week` from the previous week's tracker and evaluation."""
    result = decision_logic.decide(
        week, retrain, _read_optional(tracker_path), _read_optional(evaluation_path), window_weeks, valid_weeks
    )
    write_json(out, result)
    StepLog(log)(f"week {week}: retrain={result['retrain']} reasons={result['reasons']}")
    return result


def _fingerprint(algo: str, week: str, settings: list, paths: list[str]) -> str:
    """What makes a trained model what it is: algorithm, week, settings and the bytes of its data."""
    digest = hashlib.sha256(json.dumps([algo, week, settings], sort_keys=True).encode())
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def train(
    algo: str,
    week: str,
    decision_path: str,
    window_paths: list[str],
    model_dir: str,
    out: str,
    columns: dict,
    hyper: dict,
    seed: int,
    threads: int,
    log: str | None = None,
) -> dict:
    """Train one candidate when the week's decision says so; record it in `out` either way.

    `window_paths` are the raw files of the training window, oldest first. The native
    model, its metrics and an input example go to `model_dir`, put in place in one rename.
    """
    say = StepLog(log)
    decision = read_json(decision_path)
    if not decision["retrain"]:
        record = {"algo": algo, "week": week, "trained": False}
        write_json(out, record)
        say(f"week {week}: no retraining, {algo} not trained")
        return record
    window = decision["training_window"]
    if len(window_paths) != len(window["weeks"]):
        raise ValueError(f"week {week}: {len(window_paths)} window files given for {len(window['weeks'])} weeks")
    frame = read_weeks(window_paths, window["weeks"], columns)
    train_part, valid_part = models.split_window(frame, columns["date"], week, window["valid_weeks"])
    model, fit_metrics = models.fit_and_validate(algo, train_part, valid_part, columns, hyper, seed, threads)
    example = valid_part[feature_names(columns)].head(EXAMPLE_ROWS)
    model_path = Path(model_dir) / models.MODEL_FILES[algo]
    with atomic_dir(model_dir) as tmp:
        models.save(algo, model, tmp)
        write_json(tmp / "metrics.json", fit_metrics)
        write_parquet(tmp / "input_example.parquet", example)
    record = {
        "algo": algo,
        "week": week,
        "trained": True,
        "model_path": str(model_path),
        "metrics_path": str(Path(model_dir) / "metrics.json"),
        "example_path": str(Path(model_dir) / "input_example.parquet"),
        "valid_metrics": fit_metrics["valid"],
        "train_rows": fit_metrics["train_rows"],
        "valid_rows": fit_metrics["valid_rows"],
        "hyperparameters": hyper,
        "seed": seed,
        "window": window["weeks"],
        "fingerprint": _fingerprint(algo, week, [columns, hyper, seed, threads], window_paths),
    }
    write_json(out, record)
    say(
        f"week {week}: {algo} trained on {fit_metrics['train_rows']} rows in {fit_metrics['fit_seconds']} s, "
        f"validation macro F1 {fit_metrics['valid']['macro_f1']:.4f} -> {model_path}"
    )
    return record


def register(
    week: str,
    decision_path: str,
    candidate_paths: list[str],
    previous_tracker_path: str | None,
    out: str,
    registry: dict,
    columns: dict,
    log: str | None = None,
) -> dict:
    """Select, register and promote the week's winner, or carry the previous tracker over.

    `candidate_paths` come in the order of params.yaml train.models, which breaks ties.
    """
    say = StepLog(log)
    decision = read_json(decision_path)
    if not decision["retrain"]:
        if previous_tracker_path is None:
            raise ValueError(f"week {week}: no retraining and no previous tracker: nothing can serve this week")
        state = tracker.carry_over(read_json(previous_tracker_path), week)
        write_json(out, state)
        say(f"week {week}: no retraining, version {state['model_version']} keeps serving")
        return state
    from weekly import registry as mlflow_registry

    records = [read_json(p) for p in candidate_paths]
    candidates = [c for c in records if c["trained"]]
    chosen = selection.select(candidates, [c["algo"] for c in records])
    winner = next(c for c in candidates if c["algo"] == chosen["winner"])
    example = pd.read_parquet(winner["example_path"])
    registration = mlflow_registry.register_week(week, candidates, chosen["winner"], registry, example, columns)
    state = tracker.after_retraining(week, winner, chosen, registration)
    write_json(out, state)
    say(
        f"week {week}: scores {chosen['scores']}, winner {chosen['winner']}, "
        f"{'reused' if registration['reused'] else 'registered'} {registration['model_uri']}"
    )
    return state


@functools.lru_cache(maxsize=4)
def _serving_model(algo: str, path: str, mtime_ns: int) -> Any:
    # Weeks that do not retrain reuse the model loaded for the week before.
    return models.load(algo, path)


def predict(week: str, tracker_path: str, raw_path: str, out: str, columns: dict, log: str | None = None) -> pd.DataFrame:
    """Score the week's applications with the model that serves the week."""
    state = read_json(tracker_path)
    frame = read_week(raw_path, week, columns)
    path = state["model_path"]
    model = _serving_model(state["model_type"], path, os.stat(path).st_mtime_ns)
    proba = models.predict_proba(state["model_type"], model, frame, columns)
    classes = labels(columns)
    preds = pd.DataFrame({
        columns["id"]: frame[columns["id"]],
        columns["date"]: frame[columns["date"]],
        "prediction": models.predicted_labels(proba, classes),
        **{f"proba_{c}": proba[:, i] for i, c in enumerate(classes)},
        "model_version": str(state["model_version"]),
        "model_type": state["model_type"],
    })
    write_parquet(out, preds)
    StepLog(log)(f"week {week}: scored {len(preds)} rows with {state['model_type']} version {state['model_version']}")
    return preds


def evaluate(week: str, preds_path: str, raw_path: str, out: str, columns: dict, log: str | None = None) -> dict:
    """Evaluate the serving model on the week's labels, from its predictions."""
    preds = pd.read_parquet(preds_path)
    frame = read_week(raw_path, week, columns)
    truth = frame.set_index(columns["id"])[columns["target"]]
    if len(truth) != len(preds) or not truth.index.equals(pd.Index(preds[columns["id"]])):
        raise ValueError(f"week {week}: {preds_path} does not hold the ids of {raw_path}")
    result = {
        "week": week,
        "model_version": str(preds["model_version"].iloc[0]),
        "model_type": str(preds["model_type"].iloc[0]),
        **classification_report(truth.tolist(), preds["prediction"].tolist(), labels(columns)),
    }
    write_json(out, result)
    StepLog(log)(f"week {week}: macro F1 {result['macro_f1']:.4f} on {result['rows']} rows")
    return result


def write_reports(
    tracker_paths: list[str],
    evaluation_paths: list[str],
    weekly_csv: str,
    summary_json: str,
    log: str | None = None,
) -> dict:
    """One row per week and the backfill's summary, from the weeks' trackers and evaluations in order."""
    rows = report.weekly_rows([read_json(p) for p in tracker_paths], [read_json(p) for p in evaluation_paths])
    summary = report.summarise(rows)
    write_csv(weekly_csv, rows)
    write_json(summary_json, summary)
    StepLog(log)(f"{summary['weeks']} weeks, {summary['retrains']} retrainings, mean macro F1 {summary['mean_macro_f1']:.4f}")
    return summary


def publish_tracker(tracker_path: str, out: str, log: str | None = None) -> None:
    """Publish the last week's tracker as the latest serving state."""
    state = read_json(tracker_path)
    write_json(out, state)
    StepLog(log)(f"latest tracker: week {state['week']}, version {state['model_version']}")


def import_table(table_path: str, out_dir: str, columns: dict, start: str, log: str | None = None) -> list[str]:
    """Split one CSV or Parquet table into weekly raw files `<out_dir>/<week>.parquet`.

    Weeks are 7-day bins aligned on `start`; every week is validated like a raw file.
    """
    from weekly.data import DataError, check_week_frame, split_by_week

    path = Path(table_path)
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path}: unreadable table: {exc}") from None
    if columns["date"] not in table.columns:
        raise DataError(f"{path}: missing date column '{columns['date']}'")
    try:
        parts = split_by_week(table, columns["date"], start)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column '{columns['date']}' does not parse as dates: {exc}") from None
    written = []
    for week, part in parts.items():
        out = f"{out_dir}/{week}.parquet"
        write_parquet(out, check_week_frame(part, columns, str(path), week))
        written.append(out)
    StepLog(log)(f"{path}: {len(table)} rows into {len(written)} weekly files under {out_dir}")
    return written
