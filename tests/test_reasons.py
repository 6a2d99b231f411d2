"""Reason codes from the models' own contributions: exact (they sum to the raw score)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_models import COLUMNS, HYPER, labelled
from weekly.inputs.data import adverse_index
from weekly.modelling import models, reasons
from weekly.modelling.algorithms import ALGORITHMS, algorithm

NUMERIC_ONLY = {**COLUMNS, "numeric": ["x1", "x2"], "categorical": []}


def _library_raw_score(algo, model, X, n_classes):
    """The raw score as each library computes it, by its own call (not the adapter's)."""
    if algo == "lightgbm":
        raw = np.asarray(model.predict(X, raw_score=True))
    elif algo == "catboost":
        raw = np.asarray(model.predict(X, prediction_type="RawFormulaVal"))
    else:
        raw = np.asarray(model.decision_function(X))
    return raw.reshape(len(X), 1 if n_classes == 2 else n_classes)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
@pytest.mark.parametrize("classes", [("low", "mid", "high"), ("no", "yes")])
def test_contributions_sum_to_the_libraries_raw_score(algo, classes):
    # scikit-learn's reasons come from shap, which reads numeric splits only: numeric features here
    cols = {**(NUMERIC_ONLY if algo == "hist_gradient_boosting" else COLUMNS), "classes": list(classes)}
    data = labelled(classes=classes)
    model = models.fit(algo, data, cols, HYPER[algo], seed=1, threads=1)
    X = models.features_for(algo, data, cols)
    every = algorithm(algo).contributions(model, X, len(classes))
    assert every.shape == (len(X), 1 if len(classes) == 2 else len(classes), X.shape[1] + 1)
    np.testing.assert_allclose(every.sum(axis=2), _library_raw_score(algo, model, X, len(classes)), atol=1e-6)
    adverse = reasons.raw_contributions(algo, model, X, list(classes))
    column = 0 if len(classes) == 2 else adverse_index(list(classes))
    np.testing.assert_array_equal(adverse, every[:, column, :])
    top = reasons.top_reasons(adverse, X, 2)
    assert list(top.columns) == reasons.columns(2) == [
        "reason_1", "reason_1_value", "reason_1_contribution", "reason_2", "reason_2_value", "reason_2_contribution"]
    first, second = top["reason_1_contribution"], top["reason_2_contribution"]
    both = first.notna() & second.notna()
    assert (first[both] >= second[both]).all() and (first.dropna() > 0).all()
    # the first reason is the feature with the largest contribution toward the adverse class
    row = int(np.flatnonzero(first.notna())[0])
    assert top["reason_1"].iloc[row] == X.columns[int(np.argmax(adverse[row, :-1]))]
    assert top["reason_1_contribution"].iloc[row] == pytest.approx(adverse[row, :-1].max())
    value = X[top["reason_1"].iloc[row]].iloc[row]
    assert top["reason_1_value"].iloc[row] == (f"{value:.6g}" if isinstance(value, float) else str(value))


def test_scikit_learn_with_categoricals_gives_no_reasons_rather_than_wrong_ones():
    # shap misreads the categorical splits of scikit-learn's trees: the sums miss the raw score
    data = labelled(classes=("no", "yes"))
    cols = {**COLUMNS, "classes": ["no", "yes"]}
    model = models.fit("hist_gradient_boosting", data, cols, HYPER["hist_gradient_boosting"], seed=1, threads=1)
    X = models.features_for("hist_gradient_boosting", data, cols)
    every = algorithm("hist_gradient_boosting").contributions(model, X, 2)
    assert np.abs(every.sum(axis=2) - _library_raw_score("hist_gradient_boosting", model, X, 2)).max() > 1e-3
    assert reasons.raw_contributions("hist_gradient_boosting", model, X, ["no", "yes"]) is None
    codes = models.reason_codes("hist_gradient_boosting", model, data, cols, 2)
    assert list(codes.columns) == reasons.columns(2) and codes["reason_1"].isna().all()


def test_top_reasons_by_hand():
    X = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"], "c": [3.0, 4.0]})
    contributions = np.array([[0.5, -0.2, 0.7, 0.1], [-0.1, -0.3, 0.2, 0.0]])
    top = reasons.top_reasons(contributions, X, 3)
    assert top.loc[0, ["reason_1", "reason_2"]].tolist() == ["c", "a"] and pd.isna(top.loc[0, "reason_3"])
    assert top.loc[0, ["reason_1_value", "reason_2_value"]].tolist() == ["3", "1"]
    assert top.loc[1, "reason_1"] == "c" and pd.isna(top.loc[1, "reason_2"])  # only c pushes toward the adverse class
    assert np.isnan(top.loc[1, "reason_2_contribution"])
    # more reasons asked than features: the extra columns are there, empty
    assert reasons.top_reasons(contributions, X, 5)["reason_5"].isna().all()
