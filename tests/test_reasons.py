"""Reason codes from the models' own contributions: exact (they sum to the raw score)."""
from __future__ import annotations

import numpy as np
import pytest

from test_models import COLUMNS, HYPER, labelled
from weekly.modelling import models, reasons
from weekly.modelling.algorithms import algorithm


def _raw_score(algo, model, X, n_classes):
    if algo == "lightgbm":
        raw = np.asarray(model.predict(X, raw_score=True))
    else:
        raw = np.asarray(model.predict(X, prediction_type="RawFormulaVal"))
    return raw.reshape(len(X), 1 if n_classes == 2 else n_classes)


@pytest.mark.parametrize("algo", ["lightgbm", "catboost"])
@pytest.mark.parametrize("classes", [("low", "mid", "high"), ("no", "yes")])
def test_contributions_sum_to_the_libraries_raw_score(algo, classes):
    cols = {**COLUMNS, "classes": list(classes)}
    data = labelled(classes=classes)
    model = models.fit(algo, data, cols, HYPER[algo], seed=1, threads=1)
    X = models.features_for(algo, data, cols)
    every = algorithm(algo).contributions(model, X, len(classes))
    np.testing.assert_allclose(every.sum(axis=2), _raw_score(algo, model, X, len(classes)), atol=1e-6)
    adverse = reasons.raw_contributions(algo, model, X, list(classes))
    top = reasons.top_reasons(adverse, X, 2)
    assert list(top.columns) == ["reason_1", "reason_1_value", "reason_1_contribution",
                                 "reason_2", "reason_2_value", "reason_2_contribution"]
    first, second = top["reason_1_contribution"], top["reason_2_contribution"]
    both = first.notna() & second.notna()
    assert (first[both] >= second[both]).all() and (first.dropna() > 0).all()
    row = int(np.flatnonzero(first.notna())[0])
    assert top["reason_1_value"].iloc[row] == str(X[top["reason_1"].iloc[row]].astype(object).iloc[row])
