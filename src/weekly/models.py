"""Training and scoring, whatever the algorithm: split the window, fit, predict, save, load.

Everything algorithm-specific lives in the adapters of `weekly.algorithms`.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weekly.algorithms import algorithm
from weekly.data import feature_names, labels
from weekly.metrics import classification_report, macro_auc, risk_report
from weekly.weeks import WEEK, parse_week


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


def score(algo: str, model: Any, frame: pd.DataFrame, columns: dict, version: str) -> pd.DataFrame:
    """One row per application: id, date, predicted class, one probability per class, model version and type."""
    proba = predict_proba(algo, model, frame, columns)
    classes = labels(columns)
    return pd.DataFrame({
        columns["id"]: frame[columns["id"]].to_numpy(),
        columns["date"]: frame[columns["date"]].to_numpy(),
        "prediction": predicted_labels(proba, classes),
        **{f"proba_{c}": proba[:, i] for i, c in enumerate(classes)},
        "model_version": str(version),
        "model_type": algo,
    })


def predicted_labels(proba: np.ndarray, classes: list[str]) -> np.ndarray:
    """The most probable class of each row (first class wins a tie)."""
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def evaluate_model(algo: str, model: Any, frame: pd.DataFrame, columns: dict) -> dict:
    """The classification report of `model` on a labelled frame, with its macro one-vs-rest
    AUC (`auc`: the mean over the classes the frame has both in and out of)."""
    classes = labels(columns)
    proba = predict_proba(algo, model, frame, columns)
    truth = frame[columns["target"]].tolist()
    report = classification_report(truth, predicted_labels(proba, classes).tolist(), classes)
    return {**report, "auc": macro_auc(risk_report(truth, proba, classes))}


def fit_and_validate(
    algo: str, train: pd.DataFrame, valid: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int,
    newest_week: str, half_life_weeks: float = 0,
) -> tuple[Any, dict]:
    """Fit on `train`, report on `valid`; returns the model and its metrics. Rows are
    weighted by recency (recency_weights)."""
    started = time.perf_counter()
    model = fit(algo, train, columns, hyper, seed, threads, recency_weights(train[columns["date"]], newest_week, half_life_weeks))
    return model, {
        "valid": evaluate_model(algo, model, valid, columns),
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


def load(algo: str, path: str | Path) -> Any:
    """Load a native model file written by `save`."""
    return algorithm(algo).load(Path(path))
