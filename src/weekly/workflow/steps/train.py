"""Step train: one candidate algorithm fitted on the week's training window, or a record that the week does not retrain."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from weekly.errors import StepError
from weekly.inputs.data import (
    feature_names,
)
from weekly.io import read_json, write_json
from weekly.modelling import fit_cache, models
from weekly.workflow import provenance
from weekly.workflow.steps.common import (
    EXAMPLE_ROWS,
    save_model,
    window_files,
    window_parts,
)

log = logging.getLogger(__name__)




def train(
    *,
    algo: str,
    week: str,
    decision: str,
    window_applications: list[str],
    window_outcomes: list[str],
    candidate: str,
    model: str,
    columns: dict,
    hyper: dict,
    fitting: dict,
    seed: int,
    threads: int,
) -> dict:
    """Train one candidate when the week's decision says so; record it in `candidate` either way.

    `fitting` is how: train.recency_half_life_weeks (see models.fit_and_validate),
    train.refit, which `register` applies to the winner alone, and score.bands (the
    model's score bands, common.score_bands).

    The candidate is fitted on the window's training weeks and validated on its newest
    weeks (applications and outcomes come oldest first). The native model, its
    metrics and an input example (raw rows, as a caller of the registered model has them)
    go to the folder `model`, put in place in one rename; on a week that does not
    retrain, the folder is left empty.
    """
    verdict = read_json(decision)
    if not verdict["retrain"]:
        Path(model).mkdir(parents=True, exist_ok=True)
        record = {"algo": algo, "week": week, "trained": False}
        write_json(candidate, record)
        log.info("week %s: no retraining, %s not trained", week, algo)
        return record
    weeks = verdict["training_window"]
    window_applications = window_files(window_applications, weeks["weeks"], "applications")
    window_outcomes = window_files(window_outcomes, weeks["weeks"], "outcomes")
    fingerprint = provenance.fingerprint(
        algo, week, [columns, hyper, fitting, seed, threads, weeks], [*window_applications, *window_outcomes]
    )
    with fit_cache.claimed(fit_cache.folder(), fingerprint) as entry:
        record = fit_cache.restore(entry, model)
        if record is not None:
            log.info("week %s: %s fit %s copied from the fit cache %s", week, algo, fingerprint, entry)
        else:
            record = _fit(algo, week, weeks, window_applications, window_outcomes, model, columns, hyper, fitting,
                          seed, threads, fingerprint)
            fit_cache.store(entry, model, record)
    write_json(candidate, record)
    return record


def _fit(algo: str, week: str, weeks: dict, window_applications: list[str], window_outcomes: list[str], model: str,
         columns: dict, hyper: dict, fitting: dict, seed: int, threads: int, fingerprint: str) -> dict:
    """Fit one candidate on the window's files; its native model, metrics, reference
    distributions and input example go to the folder `model`. Returns its record."""
    train_part, valid_part, newest = window_parts(window_applications, window_outcomes, weeks, columns)
    log.info("week %s: %s on %d training and %d validation rows", week, algo, len(train_part), len(valid_part))
    try:
        fitted, fit_metrics = models.fit_and_validate(
            algo, train_part, valid_part, columns, hyper, seed, threads, weeks["weeks"][-1],
            fitting["recency_half_life_weeks"], fitting,
        )
    except Exception as exc:
        raise StepError(f"week {week}: {algo} failed to fit on {len(train_part)} rows: {exc}") from exc
    example = pd.read_parquet(window_applications[-1])[feature_names(columns)].head(EXAMPLE_ROWS)
    model_path = models.native_path(algo, model)
    newest_psi = save_model(algo, fitted, newest, train_part, weeks, columns, model, fit_metrics, example,
                            fitting["bands"])
    record = {
        "algo": algo,
        "week": week,
        "trained": True,
        "model_path": str(model_path),
        "metrics_path": str(Path(model) / "metrics.json"),
        "example_path": str(Path(model) / "input_example.parquet"),
        "valid_metrics": fit_metrics["valid"],
        "threshold": fit_metrics["valid"]["threshold"],  # binary: chosen on the validation weeks
        "calibration": fit_metrics["valid"]["calibration"],  # fitted on the validation weeks too
        "train_rows": fit_metrics["train_rows"],
        "valid_rows": fit_metrics["valid_rows"],
        "hyperparameters": hyper,
        "fitting": fitting,
        "seed": seed,
        "window": weeks["weeks"],
        "valid_weeks": weeks["valid_weeks"],
        "training_code": provenance.code_of(provenance.TRAINING_STEP),
        "libraries": provenance.library_versions(algo),
        "fingerprint": fingerprint,
        "model_sha256": provenance.file_digest(model_path),
        # how far the newest week it learned from had moved from its training rows
        "newest_week_psi": newest_psi,
    }
    log.info(
        "week %s: %s trained in %s s, validation macro F1 %.4f -> %s",
        week, algo, fit_metrics["fit_seconds"], fit_metrics["valid"]["macro_f1"], model_path,
    )
    return record


