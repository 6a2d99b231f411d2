"""Step predict: the week's applications scored by the serving model (checked against the registry first), the week's drift, and its performance estimated before its outcomes arrive; `score_batch` scores any table the same way."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from weekly.inputs.data import (
    application_columns,
    labels,
    range_findings,
    read_applications,
)
from weekly.io import read_json, write_csv, write_json, write_parquet
from weekly.lifecycle import drift as stability
from weekly.lifecycle import estimate as estimating
from weekly.lifecycle import evidence
from weekly.lifecycle import tracker as tracker_logic
from weekly.lifecycle.weeks import parse_week
from weekly.modelling import models
from weekly.workflow.steps.common import REFERENCE, read_optional, serving_model

log = logging.getLogger(__name__)




def _drift_pool(this: dict, previous: dict | None, version: str, policy: dict, max_weeks: int) -> list[dict]:
    """The weeks whose applications pool into this week's drift test, newest first: this
    week, then the previous week's pool (same serving model, so the same reference bins,
    and the same epoch: see weekly.lifecycle.evidence), until retrain.drift.min_rows rows, at most
    evaluate.max_weeks weeks."""
    chosen = [this]
    same = previous and str(previous["model_version"]) == version and previous.get("epoch") == this["epoch"]
    older = previous["pool"] if same else []
    for part in older:
        if sum(p["rows"] for p in chosen) >= policy["min_rows"] or len(chosen) >= max_weeks:
            break
        chosen.append(part)
    return chosen


def _estimate_pool(this: dict, previous: dict | None, classes: list[str], pooling: dict) -> list[dict]:
    """The scored weeks whose sums pool into this week's estimate, newest first: this week
    and the previous week's pool, chosen as its evidence window will be
    (evidence.pool_weeks, params.yaml evaluate as `pooling`), with each week's expected
    rows of every class for its outcomes."""
    parts = [this, *((previous or {}).get("pool") or [])]
    newest_first = [{"week": part["week"], "epoch": part["epoch"], "rows": part["sums"]["rows"],
                     "class_rows": estimating.expected_class_rows(part["sums"], classes)} for part in parts]
    chosen = evidence.pool_weeks(newest_first, classes, pooling)
    return parts[:len(chosen)]


def estimate_week(week: str, proba: np.ndarray, predicted: np.ndarray, version: str, epoch: str, classes: list[str],
                  pooling: dict, seed: int, previous: dict | None) -> dict:
    """A scored week's estimate (weekly.lifecycle.estimate): the week alone, and pooled as
    its evidence window will be (_estimate_pool); judged when the pooled rows are expected
    to hold enough outcomes (evidence.enough)."""
    k = len(classes)
    this = {"week": week, "model_version": version, "epoch": epoch, "sums": estimating.week_sums(proba, predicted, k)}
    pool = _estimate_pool(this, previous, classes, pooling)
    level, draws = pooling["estimate_confidence"], pooling["resamples"]
    day = parse_week(week).toordinal()
    sums = estimating.add([p["sums"] for p in pool], k)
    why = evidence.enough(sums["rows"], estimating.expected_class_rows(sums, classes), pooling)
    return {
        "week": week, "model_version": version, "epoch": epoch,
        "week_alone": estimating.figures(this["sums"], classes, level, draws, [seed, day, 1]),
        "pooled": {"weeks": [p["week"] for p in pool], "judged": why is None,
                   "why_not": None if why is None else f"expected from the probabilities: {why}",
                   **estimating.figures(sums, classes, level, draws, [seed, day, 2])},
        "pool": pool,
    }


def predict(*, week: str, tracker: str, applications: str, preds: str, drift: str, estimate: str, columns: dict,
            drift_policy: dict, pooling: dict, scoring: dict, seed: int, previous_drift: str | None = None,
            previous_estimate: str | None = None, registry: dict | None = None,
            ranges: dict | None = None, threads: int = 1) -> pd.DataFrame:
    """Score the week's applications with the model that serves the week; write them to
    `preds`, and their population stability against the model's training rows to `drift`:
    the week's own PSI of every feature and of the score (the probability of the first
    class), and the drift test of the newest applications pooled back to
    retrain.drift.min_rows (`drift_policy`; this week and the pool of `previous_drift`,
    see weekly.lifecycle.drift.pooled_drift), with the missing-share findings.

    No outcome is read: a week is scored as soon as its applications are there. A week
    with no application gives an empty `preds`. With `registry`, the registry's serving
    version is checked against the tracker first (registry.verify_serving): a moved alias
    stops the week before it scores. Values outside the plausible `ranges` of
    params.yaml (data.ranges) are recorded as `out_of_range` findings (a data alert).

    The probabilities written are the model's calibrated ones; the drift of the score is
    that of its raw probability, as its training rows were binned. Each row also carries
    its score band, its segment columns and its top score.reasons reason codes
    (`scoring`: params.yaml score; models.scored_frame), their contributions on `threads`
    threads (the same values whatever their number). `estimate` holds the
    week's performance expected from those probabilities (estimate_week), pooled with the
    scored weeks of `previous_estimate` as its evidence window will be (params.yaml
    evaluate as `pooling`): it exists as soon as the week is scored, outcomes or not.
    """
    state = read_json(tracker)
    if registry is not None:
        from weekly.tracking import registry as mlflow_registry

        mlflow_registry.verify_serving(registry=registry, state=state)
    frame = read_applications(applications, week, columns)
    model = serving_model(state, f"week {week} ({tracker})")
    classes = labels(columns)
    raw = models.predict_proba(state["model_type"], model, frame, columns)
    ref = read_json(Path(state["model_path"]).parent / REFERENCE)
    why = (models.reason_codes(state["model_type"], model, frame, columns, scoring["reasons"], threads)
           if scoring["reasons"] else None)
    scored = models.scored_frame(frame, raw, columns, state["model_type"], state["model_version"],
                                 state.get("threshold"), state.get("calibration"), edges=ref["bands"]["edges"],
                                 reasons=why)
    score = raw[:, 0]
    binned = stability.counts(ref, frame, score)
    shift = stability.stability_of_counts(ref, binned)
    version = str(state["model_version"])
    epoch = tracker_logic.epoch(state)
    pool = _drift_pool({"week": week, "epoch": epoch, **binned}, read_optional(previous_drift), version, drift_policy,
                       pooling["max_weeks"])
    pooled = stability.add_counts(pool)
    rows = pooled["rows"]
    why_not = None if rows >= drift_policy["min_rows"] else (
        f"{rows} applications over {len(pool)} week(s), fewer than retrain.drift.min_rows {drift_policy['min_rows']}")
    tests, seen = {}, None
    if why_not is None:
        tests = stability.pooled_drift(ref, pooled, drift_policy, [seed, parse_week(week).toordinal()])
        if "newest" in ref and (any(t["moved"] for t in tests["features"].values()) or tests["score"]["moved"]):
            # what had already moved by the newest weeks the model learned from
            seen = stability.pooled_drift(ref, ref["newest"], drift_policy, [seed, 0])
    expected = estimate_week(week, scored[[f"proba_{c}" for c in classes]].to_numpy(dtype=float),
                             models.encode_target(scored["prediction"], classes), version, epoch, classes, pooling,
                             seed, read_optional(previous_estimate))
    write_parquet(preds, scored)
    write_json(estimate, expected)
    write_json(drift, {
        "week": week, "model_version": version, "epoch": epoch, **shift,
        "pooled": {"weeks": [p["week"] for p in pool], "rows": rows, "judged": why_not is None, "why_not": why_not,
                   **tests},
        "seen": seen,
        "out_of_range": range_findings(frame, ranges or {}),
        "pool": pool,
    })
    log.info("week %s: scored %d rows with %s version %s", week, len(scored), state["model_type"], state["model_version"])
    return scored


def score_batch(*, table: str, tracker: str, out: str, columns: dict, reasons: int, sep: str | None = None,
                threads: int = 1) -> pd.DataFrame:
    """Score any table of applications with the model of a week's tracker; write `out` (.csv or .parquet),
    each row with its score band and its top `reasons` reason codes (as preds.parquet).

    The table needs the id, date and feature columns (and the carried segment columns);
    other columns (a label) are ignored.
    """
    from weekly.inputs.data import DataError, missing_columns
    from weekly.inputs.importing import features, read_table

    state = read_json(tracker)
    path = Path(table)
    raw = read_table(path, columns, sep).reset_index(drop=True)
    missing = [c for c in application_columns(columns) if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: {missing_columns(missing, columns)}")
    try:
        dates = pd.to_datetime(raw[columns["date"]])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column '{columns['date']}' does not read as dates: {exc}") from None
    frame = pd.DataFrame({columns["id"]: raw[columns["id"]], columns["date"]: dates}).join(
        features(raw, columns, str(path)))
    model = serving_model(state, f"week {state['week']} ({tracker})")
    ref = read_json(Path(state["model_path"]).parent / REFERENCE)
    scored = models.score(state["model_type"], model, frame, columns, state["model_version"], state.get("threshold"),
                          state.get("calibration"), edges=ref["bands"]["edges"], reasons=reasons, threads=threads)
    (write_csv if str(out).endswith(".csv") else write_parquet)(out, scored)
    scored.attrs["model"] = f"{state['model_type']} version {state['model_version']} (week {state['week']})"
    log.info("%s: scored %d applications with %s -> %s", path, len(scored), scored.attrs["model"], out)
    return scored
