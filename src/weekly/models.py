"""The two candidate algorithms behind one small interface: fit, predict, save, load.

LightGBM and CatBoost are imported inside the functions that need them, so that a week
which neither trains nor scores with a given algorithm never pays for its import.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from weekly.data import feature_names, labels
from weekly.metrics import classification_report
from weekly.weeks import parse_week

MODEL_FILES = {"lightgbm": "model.txt", "catboost": "model.cbm"}
_MISSING = "__missing__"


def split_window(frame: pd.DataFrame, date_column: str, week: str, valid_weeks: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-ordered split of the training window: validation is its most recent weeks.

    Raises if any row is dated on or after `week` (point-in-time guard).
    """
    dates = frame[date_column]
    if (dates >= pd.Timestamp(parse_week(week))).any():
        raise ValueError(f"training data for week {week} contains rows dated on or after the week")
    is_valid = dates >= pd.Timestamp(parse_week(valid_weeks[0]))
    return frame[~is_valid].reset_index(drop=True), frame[is_valid].reset_index(drop=True)


def encode_target(y: pd.Series, classes: list[str]) -> np.ndarray:
    """Class labels as integers 0..k-1 in the configured order."""
    index = {c: i for i, c in enumerate(classes)}
    return y.map(index).to_numpy(dtype=np.int64)


def features_for(algo: str, frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """The feature frame in the form the algorithm takes: LightGBM wants pandas categories,
    CatBoost strings with no missing value."""
    X = frame[feature_names(columns)].copy()
    for col in columns["categorical"]:
        if algo == "lightgbm":
            X[col] = X[col].astype("category")
        else:
            X[col] = X[col].fillna(_MISSING).astype(str)
    return X


def fit(algo: str, train: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int) -> Any:
    """Fit one candidate on `train`; hyperparameters and seed come from params.yaml."""
    classes = labels(columns)
    X, y = features_for(algo, train, columns), encode_target(train[columns["target"]], classes)
    binary = len(classes) == 2
    if algo == "lightgbm":
        import lightgbm as lgb

        params = {
            **{k: v for k, v in hyper.items() if k != "num_iterations"},
            "objective": "binary" if binary else "multiclass",
            "seed": seed,
            "num_threads": threads,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        if not binary:
            params["num_class"] = len(classes)
        dataset = lgb.Dataset(X, y, categorical_feature=columns["categorical"] or "auto", free_raw_data=True)
        return lgb.train(params, dataset, num_boost_round=hyper["num_iterations"])
    if algo == "catboost":
        from catboost import CatBoostClassifier

        model = CatBoostClassifier(
            **hyper,
            loss_function="Logloss" if binary else "MultiClass",
            class_names=list(range(len(classes))),
            random_seed=seed,
            thread_count=threads,
            allow_writing_files=False,
            verbose=False,
        )
        return model.fit(X, y, cat_features=columns["categorical"])
    raise ValueError(f"unknown algorithm {algo!r}")


def predict_proba(algo: str, model: Any, frame: pd.DataFrame, columns: dict) -> np.ndarray:
    """Class probabilities, one column per configured class, rows summing to 1."""
    X = features_for(algo, frame, columns)
    if algo == "lightgbm":
        proba = np.asarray(model.predict(X))
    else:
        proba = np.asarray(model.predict_proba(X))
    if proba.ndim == 1:  # binary LightGBM gives P(second class)
        proba = np.column_stack([1.0 - proba, proba])
    return proba


def predicted_labels(proba: np.ndarray, classes: list[str]) -> np.ndarray:
    """The most probable class of each row (first class wins a tie)."""
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def evaluate_model(algo: str, model: Any, frame: pd.DataFrame, columns: dict) -> dict:
    """The classification report of `model` on a labelled frame."""
    classes = labels(columns)
    pred = predicted_labels(predict_proba(algo, model, frame, columns), classes)
    return classification_report(frame[columns["target"]].tolist(), pred.tolist(), classes)


def fit_and_validate(
    algo: str, train: pd.DataFrame, valid: pd.DataFrame, columns: dict, hyper: dict, seed: int, threads: int
) -> tuple[Any, dict]:
    """Fit on `train`, report on `valid`; returns the model and its metrics."""
    started = time.perf_counter()
    model = fit(algo, train, columns, hyper, seed, threads)
    fit_seconds = time.perf_counter() - started
    return model, {
        "valid": evaluate_model(algo, model, valid, columns),
        "train_rows": len(train),
        "valid_rows": len(valid),
        "fit_seconds": round(fit_seconds, 3),
    }


def save(algo: str, model: Any, directory: str | Path) -> Path:
    """Write the model's native file into `directory`; returns its path."""
    path = Path(directory) / MODEL_FILES[algo]
    model.save_model(str(path))
    return path


def load(algo: str, path: str | Path) -> Any:
    """Load a native model file written by `save`."""
    if algo == "lightgbm":
        import lightgbm as lgb

        return lgb.Booster(model_file=str(path))
    if algo == "catboost":
        from catboost import CatBoostClassifier

        return CatBoostClassifier().load_model(str(path))
    raise ValueError(f"unknown algorithm {algo!r}")
