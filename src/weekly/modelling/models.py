"""Training and scoring, whatever the algorithm: split the window, fit, predict, save, load.

Everything algorithm-specific lives in the adapters of `weekly.modelling.algorithms`.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weekly.lifecycle import gains, stats
from weekly.modelling import calibration as calibration_logic
from weekly.modelling import reasons as reasons_logic
from weekly.modelling.algorithms import algorithm
from weekly.inputs.data import adverse_index, feature_names, labels, segment_names
from weekly.errors import StateError
from weekly.lifecycle.metrics import classification_report, macro_auc, risk_report
from weekly.lifecycle.weeks import WEEK, parse_week


REBUILD = "delete the week's folder under models/ and run `snakemake all_weeks` to make it again"


class DigestMismatch(StateError):
    """A model file whose bytes are not those recorded when it was saved (`digest` vs `expected`)."""

    def __init__(self, message: str, path: Path, digest: str, expected: str):
        super().__init__(message)
        self.path, self.digest, self.expected = path, digest, expected


def split_window(frame: pd.DataFrame, date_column: str, window: list[str], valid_weeks: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-ordered split of the training window (its weeks, oldest first): validation is
    its most recent weeks.

    Raises if any row is dated after the window's last week (point-in-time guard: with a
    label delay, the weeks between the window and the decision week are not known yet).
    """
    dates = frame[date_column]
    end = pd.Timestamp(parse_week(window[-1]) + WEEK)
    if (dates >= end).any():
        raise ValueError(f"training data of the window {window[0]}..{window[-1]} holds rows dated from {end.date()} on")
    is_valid = dates >= pd.Timestamp(parse_week(valid_weeks[0]))
    return frame[~is_valid].reset_index(drop=True), frame[is_valid].reset_index(drop=True)


def encode_target(y: pd.Series, classes: list[str]) -> np.ndarray:
    """Class labels as integers 0..k-1 in the configured order."""
    index = {c: i for i, c in enumerate(classes)}
    return y.astype(object).map(index).to_numpy(dtype=np.int64)


def features_for(algo: str, frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """The feature frame in the form the algorithm takes (see its adapter). The selection
    shares the frame's columns until the adapter replaces one (pandas' copy-on-write): a
    3-million-row window is not copied once more per fit."""
    return algorithm(algo).features(frame[feature_names(columns)], columns["categorical"])


def recency_weights(dates: pd.Series, newest_week: str, half_life_weeks: float) -> np.ndarray | None:
    """Row weights halving every `half_life_weeks` weeks back from the newest week of the
    window (None, equal weights, when half_life_weeks is 0): a window that straddles a
    change learns more from after it."""
    if not half_life_weeks:
        return None
    age = (pd.Timestamp(parse_week(newest_week)) - dates.dt.normalize()).dt.days.clip(lower=0) // 7
    return np.power(0.5, age.to_numpy(dtype=float) / half_life_weeks)


def fit(algo: str, train: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int,
        weight: np.ndarray | None = None) -> Any:
    """Fit one candidate on `train`; hyperparameters and seed come from params.yaml."""
    classes = labels(columns)
    y = encode_target(train[columns["target"]], classes)
    return algorithm(algo).fit(
        features_for(algo, train, columns), y, len(classes), columns["categorical"], hyper, seed, threads, weight
    )


def predict_proba(algo: str, model: Any, frame: pd.DataFrame, columns: dict) -> np.ndarray:
    """Class probabilities, one column per configured class, rows summing to 1."""
    if frame.empty:  # an empty week: the libraries refuse zero rows
        return np.zeros((0, len(labels(columns))))
    return algorithm(algo).predict_proba(model, features_for(algo, frame, columns), len(labels(columns)))


def score(algo: str, model: Any, frame: pd.DataFrame, columns: dict, version: str,
          threshold: float | None = None, calibration: dict | None = None, *, edges: list[float] | None = None,
          reasons: int = 0, threads: int = 1) -> pd.DataFrame:
    """One row per application: id, date, predicted class (binary: the event from the
    model's decision `threshold` on), one probability per class, model version and type;
    its score band and its `reasons` top reason codes (see scored_frame)."""
    raw = predict_proba(algo, model, frame, columns)
    why = reason_codes(algo, model, frame, columns, reasons, threads) if reasons else None
    return scored_frame(frame, raw, columns, algo, version, threshold, calibration, edges=edges, reasons=why)


def reason_codes(algo: str, model: Any, frame: pd.DataFrame, columns: dict, k: int, threads: int = 1) -> pd.DataFrame:
    """The top `k` reason codes of every row of `frame` (weekly.modelling.reasons): the
    features that pushed its score most toward the adverse class, with their values; the
    contributions computed on `threads` threads."""
    X = features_for(algo, frame, columns) if len(frame) else frame[feature_names(columns)]
    contributions = reasons_logic.raw_contributions(algo, model, X, labels(columns), threads)
    return reasons_logic.top_reasons(contributions, X, k).reset_index(drop=True)


def risk_score(raw: np.ndarray, classes: list[str]) -> np.ndarray:
    """The model's raw probability of the adverse class (weekly.modelling.reasons): what its
    score bands (the gains table's) are cut on."""
    return raw[:, adverse_index(classes)]


def scored_frame(frame: pd.DataFrame, raw: np.ndarray, columns: dict, algo: str, version: str,
                 threshold: float | None = None, calibration: dict | None = None, *, edges: list[float] | None = None,
                 reasons: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scored rows of `frame` from the model's raw probabilities `raw`: the predicted
    class is the model's decision on them; the probabilities written are calibrated
    (weekly.modelling.calibration; the raw ones for a model without calibration). With the
    model's band `edges`, `score_band`: its band of the adverse class's raw probability (1
    the riskiest, weekly.lifecycle.gains); the segment columns of params.yaml
    (data.columns.segments) as the applications hold them; then the `reasons` columns."""
    classes = labels(columns)
    proba = calibration_logic.apply(raw, calibration, classes)
    scored = pd.DataFrame({
        columns["id"]: frame[columns["id"]].to_numpy(),
        columns["date"]: frame[columns["date"]].to_numpy(),
        "prediction": predicted_labels(raw, classes, threshold),
        **{f"proba_{c}": proba[:, i] for i, c in enumerate(classes)},
        "model_version": str(version),
        "model_type": algo,
    })
    if edges is not None:
        scored["score_band"] = gains.band_number(gains.assign(risk_score(raw, classes), edges), len(edges) + 1)
    for column in segment_names(columns):
        scored[column] = frame[column].to_numpy()
    if reasons is not None:
        scored = pd.concat([scored, reasons.reset_index(drop=True)], axis=1)
    return scored


def predicted_labels(proba: np.ndarray, classes: list[str], threshold: float | None = None) -> np.ndarray:
    """The predicted class of each row: binary with a `threshold`, the event (second class)
    when its probability is at least the threshold; otherwise the most probable class
    (first class wins a tie)."""
    if threshold is not None and len(classes) == 2:
        return np.asarray(classes, dtype=object)[(proba[:, 1] >= threshold).astype(np.int64)]
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def choose_threshold(positive: np.ndarray, event_proba: np.ndarray, policy: dict) -> float:
    """The decision threshold of a binary model, chosen on its validation rows: the one
    maximising macro F1 (`policy["method"]` macro_f1), or the one that flags
    `policy["event_rate"]` of the rows (method event_rate). Ties go to the higher
    threshold; the threshold lies midway between two neighbouring probabilities."""
    p = np.asarray(event_proba, dtype=float)
    n = len(p)
    if n == 0:
        return 0.5
    order = np.argsort(-p, kind="mergesort")
    ps, pos = p[order], np.asarray(positive, dtype=bool)[order]
    if policy["method"] == "event_rate":
        k = int(round(policy["event_rate"] * n))
    else:
        # flag the top k rows, k = 0..n: F1 of the event and of the non-event for each k
        tp = np.concatenate([[0], np.cumsum(pos)])
        fp = np.concatenate([[0], np.cumsum(~pos)])
        k_all = np.arange(n + 1)
        events, others = pos.sum(), n - pos.sum()
        tn, fn = others - fp, events - tp
        f1_event = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(n + 1), where=(2 * tp + fp + fn) > 0)
        f1_other = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros(n + 1), where=(2 * tn + fn + fp) > 0)
        # a cut between two equal probabilities is not a threshold: only where the value changes
        valid = np.concatenate([[True], ps[1:] < ps[:-1], [True]])
        macro = np.where(valid, (f1_event + f1_other) / 2, -1.0)
        k = int(k_all[np.argmax(macro)])  # the first maximum: the fewest rows flagged, the highest threshold
    if k <= 0:
        return float(min(1.0, ps[0] + 1e-9)) if ps[0] < 1.0 else 1.0
    if k >= n:
        return float(ps[-1])
    return float((ps[k - 1] + ps[k]) / 2)


def cross_fitted_events(positive: np.ndarray, event_proba: np.ndarray, policy: dict, seed: list[int]) -> np.ndarray:
    """Each row flagged as an event or not with a threshold chosen (choose_threshold) on the
    other half of the rows (two folds, seeded): what a threshold chosen on these rows does
    on rows it was not chosen on. Scoring the rows at a threshold tuned on them reads
    optimistic, most with few events, and a later honest week would then look like a drop."""
    p = np.asarray(event_proba, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    first = np.zeros(len(p), dtype=bool)
    first[np.random.default_rng(seed).permutation(len(p))[: len(p) // 2]] = True
    flagged = np.zeros(len(p), dtype=bool)
    for fold in (first, ~first):
        if fold.any() and (~fold).any():
            flagged[fold] = p[fold] >= choose_threshold(positive[~fold], p[~fold], policy)
    return flagged


def evaluate_model(algo: str, model: Any, frame: pd.DataFrame, columns: dict, threshold: float | None = None) -> dict:
    """The classification report of `model` on a labelled frame (binary: at `threshold`),
    with its macro one-vs-rest AUC (`auc`: the mean over the classes the frame has both
    in and out of) and log loss."""
    classes = labels(columns)
    return _report(frame[columns["target"]].tolist(), predict_proba(algo, model, frame, columns), classes, threshold)


def _report(truth: list, proba: np.ndarray, classes: list[str], threshold: float | None) -> dict:
    report = classification_report(truth, predicted_labels(proba, classes, threshold).tolist(), classes)
    risk = risk_report(truth, proba, classes)
    return {**report, "auc": macro_auc(risk), "log_loss": risk["log_loss"]}


def validation_metrics(algo: str, model: Any, valid: pd.DataFrame, columns: dict, validation: dict,
                       seed: int) -> dict:
    """A fitted candidate on its validation rows: for a binary problem the decision
    threshold is chosen on them first (choose_threshold, `validation["threshold"]`); then
    its report at that threshold, with the standard errors of macro F1 (seeded bootstrap)
    and AUC (DeLong) that the performance trigger and the gate weigh it by.

    For a binary problem, macro F1 (and its error) is that of the threshold chosen on the
    other half of the rows (cross_fitted_events), not of the rows it was tuned on (kept as
    `macro_f1_tuned`): the figure the model's later weeks are compared with."""
    from weekly.lifecycle import evidence

    classes = labels(columns)
    y = encode_target(valid[columns["target"]], classes)
    proba = predict_proba(algo, model, valid, columns)
    threshold = choose_threshold(y == 1, proba[:, 1], validation["threshold"]) if len(classes) == 2 else None
    report = _report(valid[columns["target"]].tolist(), proba, classes, threshold)
    if threshold is not None and len(y):
        pred = cross_fitted_events(y == 1, proba[:, 1], validation["threshold"], [seed, len(y)]).astype(np.int64)
    else:
        pred = encode_target(pd.Series(predicted_labels(proba, classes, threshold)), classes)
    f1 = stats.bootstrap_macro_f1(y, pred, len(classes), validation["resamples"], [seed, len(y)]) if len(y) else None
    if threshold is not None and f1:
        report["macro_f1_tuned"], report["macro_f1"] = report["macro_f1"], f1["value"]
    auc = evidence.macro_auc_interval(y, proba, len(classes), 0.95) if len(y) else {}
    fitted = calibration_logic.fit(proba, y, classes)
    calibrated = calibration_logic.apply(proba, fitted, classes)
    check = {"raw": {"log_loss": report["log_loss"], "ece": calibration_logic.expected_calibration_error(proba, y)},
             "calibrated": {"log_loss": risk_report(valid[columns["target"]].tolist(), calibrated, classes)["log_loss"],
                            "ece": calibration_logic.expected_calibration_error(calibrated, y)}} if len(y) else None
    return {**report, "threshold": threshold, "se": {"macro_f1": f1["se"] if f1 else None, "auc": auc.get("se")},
            "calibration": fitted, "calibration_check": check}


def fit_and_validate(
    algo: str, train: pd.DataFrame, valid: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int,
    newest_week: str, half_life_weeks: float = 0, validation: dict | None = None,
) -> tuple[Any, dict]:
    """Fit on `train`, report on `valid` (validation_metrics; `validation`: how the
    threshold is chosen and the bootstrap resamples); returns the model and its metrics.
    Rows are weighted by recency (recency_weights)."""
    started = time.perf_counter()
    model = fit(algo, train, columns, hyper, seed, threads, recency_weights(train[columns["date"]], newest_week, half_life_weeks))
    validation = validation or {"threshold": {"method": "macro_f1", "event_rate": None}, "resamples": 200}
    return model, {
        "valid": validation_metrics(algo, model, valid, columns, validation, seed),
        "train_rows": len(train),
        "valid_rows": len(valid),
        "fit_seconds": round(time.perf_counter() - started, 3),
    }


def refit(algo: str, train: pd.DataFrame, valid: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int,
          newest_week: str, half_life_weeks: float = 0) -> tuple[Any, dict]:
    """Fit again on `train` and `valid` together, as fit_and_validate fitted on `train`: the
    newest weeks, held out to choose the winner, are then learned from too. Only the winner
    is refitted."""
    started = time.perf_counter()
    whole = pd.concat([train, valid], ignore_index=True)
    model = fit(algo, whole, columns, hyper, seed, threads, recency_weights(whole[columns["date"]], newest_week, half_life_weeks))
    return model, {"refit_rows": len(whole), "fit_seconds": round(time.perf_counter() - started, 3)}


def native_path(algo: str, directory: str | Path) -> Path:
    """Where the native model file of `algo` lives inside a model folder."""
    return Path(directory) / algorithm(algo).native_file


def save(algo: str, model: Any, directory: str | Path) -> Path:
    """Write the model's native file into `directory`; returns its path."""
    path = native_path(algo, directory)
    algorithm(algo).save(model, path)
    return path


def load(algo: str, path: str | Path, sha256: str | None) -> Any:
    """Load a native model file written by `save`, once its bytes are those it had when saved.

    `sha256` is the digest recorded then (a candidate's or tracker's `model_sha256`, the
    registered model's config); without one nothing is loaded. The file is read once: its
    digest is taken of those bytes and the model is built from the same bytes, so no
    library reads a file that was not checked, nor one swapped after the check. A mismatch
    (DigestMismatch), a missing digest, or bytes that are no model of `algo` are StateErrors
    of one line naming the file.
    """
    path = Path(path)
    if not sha256:
        raise StateError(
            f"{path}: no sha256 recorded for this model file, and a model file is loaded only once its bytes are "
            f"checked: pass the model_sha256 recorded when it was saved (a record without one predates the check: "
            f"delete the week's folders under weeks/ and models/ and run `snakemake all_weeks` to make them again)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StateError(f"{path}: the model file cannot be read ({exc.strerror or exc}): {REBUILD}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DigestMismatch(
            f"{path}: sha256 {digest[:12]}... instead of the recorded {sha256[:12]}...: the model file was replaced "
            f"or its recorded digest edited, so it is not loaded: {REBUILD}",
            path, digest, sha256,
        )
    try:
        return algorithm(algo).loads(data)
    except Exception as exc:  # whatever the library raises, the file is not a model of `algo`
        said = (str(exc).strip().splitlines() or [""])[0][:200]
        raise StateError(
            f"{path}: its bytes match the recorded sha256 {digest[:12]}... but do not read as a {algo} model "
            f"({type(exc).__name__}: {said}): written by another version of the library, or put in the model's "
            f"place with its digest recorded too; {REBUILD}"
        ) from None
