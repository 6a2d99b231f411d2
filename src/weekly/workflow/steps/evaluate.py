"""Step evaluate: the serving model on a week's outcomes, once they are known, and the pooled evidence window the triggers read."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from weekly.errors import StepError
from weekly.inputs.data import (
    labels,
    read_outcomes,
    segment_names,
)
from weekly.io import read_json, write_json, write_parquet
from weekly.lifecycle import evidence as evidence_logic
from weekly.lifecycle import review
from weekly.lifecycle import tracker as tracker_logic
from weekly.lifecycle.metrics import class_mix, classification_report, macro_auc, risk_report
from weekly.lifecycle.weeks import parse_week
from weekly.reporting import report as report_logic
from weekly.paths import REFERENCE

log = logging.getLogger(__name__)
progress = logging.getLogger("weekly.progress")  # the console's one line per week




def _evidence_rows(joined: pd.DataFrame, week: str, target: str, classes: list[str],
                   segments: list[str]) -> pd.DataFrame:
    """A week's labelled rows as an evidence window holds them: outcome, prediction,
    probabilities, score band and segment columns."""
    return pd.DataFrame({
        "week": week,
        "outcome": joined[target].astype(str).to_numpy(),
        "prediction": joined["prediction"].astype(str).to_numpy(),
        **{f"proba_{c}": joined[f"proba_{c}"].to_numpy(dtype=float) for c in classes},
        "score_band": joined["score_band"].to_numpy(dtype=np.int64),
        **{column: joined[column].to_numpy() for column in segments},
        "model_version": joined["model_version"].astype(str).to_numpy(),
    })


def _pooled(rows: pd.DataFrame, week: str, epoch: str, classes: list[str], pooling: dict,
            seed: int) -> tuple[dict, pd.DataFrame]:
    """The evidence window ending with `week` out of `rows` (this week's and the previous
    window's), and its pooled figures (weekly.lifecycle.evidence)."""
    newest_first = []
    for w, part in sorted(rows.groupby("week", sort=False), key=lambda item: item[0], reverse=True):
        counted = part["outcome"].value_counts()
        newest_first.append({"week": w, "rows": len(part), "class_rows": {c: int(counted.get(c, 0)) for c in classes},
                             "epoch": part["epoch"].iloc[0]})
    if not newest_first or newest_first[0]["week"] != week:  # a week without outcomes still ends its window
        newest_first.insert(0, {"week": week, "rows": 0, "class_rows": {}, "epoch": epoch})
    weeks = evidence_logic.pool_weeks(newest_first, classes, pooling)
    window = rows[rows["week"].isin(weeks)].reset_index(drop=True)
    index = {c: i for i, c in enumerate(classes)}
    figures = evidence_logic.pooled_figures(
        window["outcome"].map(index).to_numpy(dtype=np.int64), window["prediction"].map(index).to_numpy(dtype=np.int64),
        window[[f"proba_{c}" for c in classes]].to_numpy(dtype=float), classes, weeks, pooling,
        [seed, parse_week(week).toordinal()],
    )
    versions = sorted(set(window["model_version"]))
    return {**figures, "model_versions": versions}, window


def checked_estimate(expected: dict, realized: dict) -> dict:
    """The week's estimate (estimate.json, the week alone) beside its realized figures: for
    macro F1, accuracy and AUC the estimated value and interval, the realized value, the
    error (estimated - realized) and whether the interval held it."""
    alone = expected.get("week_alone") or {}
    found = {"macro_f1": realized.get("macro_f1"), "accuracy": realized.get("accuracy"),
             "auc": macro_auc(realized["risk"]) if realized.get("risk") else None}
    checked = {}
    for name, value in found.items():
        guess = alone.get(name) or {}
        if guess.get("value") is None or value is None:
            checked[name] = {"estimated": guess.get("value"), "realized": value, "error": None, "covered": None}
            continue
        checked[name] = {"estimated": guess["value"], "low": guess["low"], "high": guess["high"], "realized": value,
                         "error": round(guess["value"] - value, 6), "covered": bool(guess["low"] <= value <= guess["high"])}
    return {"model_version": expected.get("model_version"), "rows": alone.get("rows", 0),
            "confidence": alone.get("confidence"), **checked}


def evaluate(
    *,
    week: str,
    decision: str,
    tracker: str,
    preds: str,
    drift: str,
    outcomes: str,
    evaluation: str,
    evidence: str,
    columns: dict,
    pooling: dict,
    scoring: dict,
    fairness_band: list[float],
    psi_floor: float,
    seed: int,
    estimate: str | None = None,
    previous_evidence: str | None = None,
) -> dict:
    """Evaluate the serving model on the week's outcomes, from its predictions; write
    `evaluation`, with the figures of the week alone and those of its evidence window
    (`pooled`: this week and the newest weeks before it, params.yaml evaluate as
    `pooling`), whose rows go to `evidence` for the next week's window.

    Runs once the week's outcomes are known. An outcome may be missing for some
    applications (they are left out), never present for an application that was not
    scored. A week with fewer than evaluate.min_rows outcomes is marked too_small alone;
    its pooled figures judge it. Also says on the console how the week went (see
    report.week_line).

    The window's gains table, segment groups and protected-attribute comparison are in
    `pooled` too (weekly.lifecycle.review.window_groups; `scoring`: params.yaml score, `fairness_band`: the alert's
    band of approval-rate ratios; `psi_floor`: retrain.drift.score_threshold, the magnitude
    a segment's score PSI must pass besides its critical value).

    `estimate` is what was expected of the week when it was scored (predict): its figures
    are recorded beside the realized ones, with the error and whether the interval held
    the realized figure (`estimate`).
    """
    scored = pd.read_parquet(preds)
    known = read_outcomes(outcomes, week, columns)
    ids, target = columns["id"], columns["target"]
    unscored = ~known[ids].isin(scored[ids])
    if unscored.any():
        raise StepError(
            f"week {week}: {outcomes} holds {int(unscored.sum())} outcome(s) of applications that {preds} "
            f"did not score, e.g. {ids} {known.loc[unscored, ids].iloc[0]!r}"
        )
    classes = labels(columns)
    proba_columns = [f"proba_{c}" for c in classes]
    segments = segment_names(columns)
    joined = known.merge(scored[[ids, "prediction", "model_version", *proba_columns, "score_band", *segments]], on=ids,
                         how="inner")
    state = read_json(tracker)
    this = _evidence_rows(joined, week, target, classes, segments)
    this["model_version"] = str(state["model_version"])
    this["epoch"] = tracker_logic.epoch(state)  # see weekly.lifecycle.evidence
    counted = this["outcome"].value_counts()
    alone = evidence_logic.enough(len(this), {c: int(counted.get(c, 0)) for c in classes}, pooling) is None
    # a week holding enough is its own window: the weeks before it are not read
    before = pd.read_parquet(previous_evidence) if previous_evidence and not alone else this.iloc[:0]
    pooled, window = _pooled(pd.concat([this, before], ignore_index=True), week, tracker_logic.epoch(state), classes,
                             pooling, seed)
    result = {
        "week": week,
        "model_version": str(state["model_version"]),
        "model_type": state["model_type"],
        "applications": len(scored),
        "too_small": len(joined) < pooling["min_rows"],
        "min_rows": pooling["min_rows"],
        **classification_report(joined[target].tolist(), joined["prediction"].tolist(), classes),
        "risk": risk_report(joined[target].tolist(), joined[proba_columns].to_numpy(), classes),
        "predicted_mix": class_mix(scored["prediction"].tolist(), classes),
        "outcome_mix": class_mix(joined[target].tolist(), classes),
        "psi": {key: value for key, value in read_json(drift).items() if key in ("features", "score")},
        "pooled": {**pooled, **review.window_groups(window, read_json(Path(state["model_path"]).parent / REFERENCE), columns,
                                             classes, pooling, scoring, fairness_band,
                                             [seed, parse_week(week).toordinal(), 3], psi_floor)},
    }
    if estimate is not None:
        result["estimate"] = checked_estimate(read_json(estimate), result)
    write_parquet(evidence, window)
    write_json(evaluation, result)
    log.info("week %s: macro F1 %s on %d labelled rows; pooled over %d week(s) %s", week, result["macro_f1"],
             result["rows"], len(pooled["weeks"]), pooled["macro_f1"]["value"])
    progress.info(report_logic.week_line(read_json(decision), state, result))
    return result
