"""Reason codes: the features that pushed an application's score most toward the adverse class.

From the model's own exact contributions (TreeSHAP: LightGBM's `pred_contrib`, CatBoost's
`ShapValues`): each feature's share of the row's raw score (log-odds), which with the
expected value sums to it. The adverse class is the event of a binary model (its second
class) and the first class otherwise (`Poor` in the embedded data). A row's reasons are its
`k` features with the largest positive contributions to the adverse class's raw score,
with the row's value of each: what an adverse-action notice names.

WIP (issue 26): not wired into predict, `weekly score` or the pyfunc yet.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from weekly.modelling.algorithms import algorithm


def adverse_index(classes: list[str]) -> tuple[int, int]:
    """(the adverse class's index among the classes, its column among the score columns)."""
    return (1, 0) if len(classes) == 2 else (0, 0)


def raw_contributions(algo: str, model, X: pd.DataFrame, classes: list[str]) -> np.ndarray | None:
    """Rows x (features + 1) contributions to the adverse class's raw score (None: the
    algorithm has no exact contributions)."""
    values = algorithm(algo).contributions(model, X, len(classes))
    if values is None:
        return None
    index, column = adverse_index(classes)
    return values[:, column if len(classes) == 2 else index, :]


def top_reasons(contributions: np.ndarray, X: pd.DataFrame, k: int) -> pd.DataFrame:
    """The `k` features pushing each row most toward the adverse class (positive
    contributions only; fewer when fewer push that way), with the row's value of each and
    the contribution: columns reason_<i>, reason_<i>_value, reason_<i>_contribution."""
    features = np.asarray(X.columns)
    c = contributions[:, :-1]
    order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    out = {}
    rows = np.arange(len(X))
    values = X.astype(object).to_numpy()
    for i in range(min(k, c.shape[1])):
        pick = order[:, i]
        pushes = c[rows, pick] > 0
        out[f"reason_{i + 1}"] = np.where(pushes, features[pick], None)
        out[f"reason_{i + 1}_value"] = np.where(pushes, [str(v) for v in values[rows, pick]], None)
        out[f"reason_{i + 1}_contribution"] = np.where(pushes, c[rows, pick], np.nan)
    return pd.DataFrame(out, index=X.index)
