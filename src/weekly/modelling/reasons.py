"""Reason codes: the features that pushed an application's score most toward the adverse class.

What an adverse-action notice names. From the model's own exact contributions (TreeSHAP:
LightGBM's `pred_contrib`, CatBoost's `ShapValues`, shap's TreeExplainer for
scikit-learn): each feature's share of the row's raw score (log-odds), which with the
expected value sums to it. The sums are checked against the library's raw score on every
call; contributions that do not add up (shap on scikit-learn's categorical splits) give
no reasons rather than wrong ones.

The adverse class is the event of a binary model (its second class: a default) and the
first class otherwise (`Poor` in the embedded data). A row's reasons are its `k` features
with the largest positive contributions to the adverse class's raw score, with the row's
value of each.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from weekly.inputs.data import adverse_index
from weekly.modelling.algorithms import algorithm

log = logging.getLogger(__name__)

# contributions plus expected value must give the raw score to this (log-odds)
ADDITIVITY_TOLERANCE = 1e-6


def adverse_score_column(classes: list[str]) -> int:
    """The adverse class's column among the raw score columns (binary: the one, the event's)."""
    return 0 if len(classes) == 2 else adverse_index(classes)


def columns(k: int) -> list[str]:
    """The reason columns of a scored frame, in order."""
    return [f"reason_{i}{part}" for i in range(1, k + 1) for part in ("", "_value", "_contribution")]


def raw_contributions(algo: str, model, X: pd.DataFrame, classes: list[str], threads: int = 1) -> np.ndarray | None:
    """Rows x (features + 1) contributions to the adverse class's raw score, checked to sum
    to the library's raw score; None when the algorithm has none or they do not add up."""
    if X.empty:
        return np.zeros((0, X.shape[1] + 1))
    adapter = algorithm(algo)
    values = adapter.contributions(model, X, len(classes), threads)
    if values is None:
        return None
    column = adverse_score_column(classes)
    raw = adapter.raw_score(model, X, len(classes))[:, column]
    picked = values[:, column, :]
    gap = float(np.max(np.abs(picked.sum(axis=1) - raw)))
    if not gap <= ADDITIVITY_TOLERANCE * max(1.0, float(np.max(np.abs(raw)))):
        log.warning("%s: the contributions miss the raw score by up to %.3g log-odds: no reason codes", algo, gap)
        return None
    return picked


def _shown(value) -> str | None:
    # as a person reads it on a notice: 46 not 46.0, 0.3125 not 0.31250000000000006
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)


def top_reasons(contributions: np.ndarray | None, X: pd.DataFrame, k: int) -> pd.DataFrame:
    """The `k` features pushing each row most toward the adverse class (positive
    contributions only; fewer when fewer push that way), with the row's value of each (text;
    None when missing) and the contribution (log-odds): columns(k). Without contributions,
    the columns are there and empty."""
    out = {}
    if contributions is None:
        for name in columns(k):
            out[name] = np.full(len(X), np.nan) if name.endswith("_contribution") else np.full(len(X), None, dtype=object)
        return pd.DataFrame(out, index=X.index)
    features = np.asarray(X.columns, dtype=object)
    c = contributions[:, :-1]
    order = np.argsort(-c, axis=1, kind="stable")
    rows = np.arange(len(X))
    values = X.astype(object).to_numpy()
    for i in range(k):
        if i < c.shape[1]:
            pick = order[:, i]
            pushes = c[rows, pick] > 0
            out[f"reason_{i + 1}"] = np.where(pushes, features[pick], None)
            out[f"reason_{i + 1}_value"] = np.array(
                [_shown(values[r, f]) if p else None for r, f, p in zip(rows, pick, pushes)], dtype=object)
            out[f"reason_{i + 1}_contribution"] = np.where(pushes, c[rows, pick], np.nan)
        else:
            out[f"reason_{i + 1}"] = out[f"reason_{i + 1}_value"] = np.full(len(X), None, dtype=object)
            out[f"reason_{i + 1}_contribution"] = np.full(len(X), np.nan)
    return pd.DataFrame(out, index=X.index)
