import hashlib

import numpy as np
import pandas as pd
import pytest

from weekly.modelling import models
from weekly.modelling.algorithms import ALGORITHMS, algorithm
from weekly.modelling.serving import LocalContext, ProbabilityModel

COLUMNS = {
    "id": "id",
    "date": "date",
    "target": "label",
    "classes": ["low", "mid", "high"],
    "numeric": ["x1", "x2"],
    "categorical": ["cat"],
}
HYPER = {
    "lightgbm": {"num_iterations": 20, "learning_rate": 0.1, "num_leaves": 7, "min_data_in_leaf": 5, "feature_fraction": 1.0},
    "catboost": {"iterations": 20, "learning_rate": 0.2, "depth": 3},
    "hist_gradient_boosting": {"max_iter": 20, "learning_rate": 0.2, "max_leaf_nodes": 7, "min_samples_leaf": 5},
}


def labelled(n=400, seed=0, classes=("low", "mid", "high")):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    cat = rng.choice(["a", "b", None], n)
    score = x1 + (cat == "a") * 1.0
    cuts = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    label = np.asarray(classes)[np.searchsorted(cuts, score)]
    return pd.DataFrame({
        "id": [str(i) for i in range(n)],
        "date": pd.Timestamp("2022-01-02") + pd.to_timedelta(np.sort(rng.integers(0, 14 * 24, n)), unit="h"),
        "x1": x1,
        "x2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "cat": pd.Series(cat, dtype=object),
        "label": label,
    })


def test_every_adapter_has_test_hyperparameters():
    assert set(HYPER) == set(ALGORITHMS)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
@pytest.mark.parametrize("classes", [("low", "mid", "high"), ("no", "yes")])
def test_fit_predict_save_load_serve(algo, classes, tmp_path):
    cols = {**COLUMNS, "classes": list(classes)}
    data = labelled(classes=classes)
    model = models.fit(algo, data, cols, HYPER[algo], seed=1, threads=1)
    proba = models.predict_proba(algo, model, data, cols)
    assert proba.shape == (len(data), len(classes))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    report = models.evaluate_model(algo, model, data, cols)
    assert report["macro_f1"] > 0.6  # the signal is strong: a fitted model must find it
    path = models.save(algo, model, tmp_path)
    assert path.name == algorithm(algo).native_file and path.is_file()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_allclose(models.predict_proba(algo, models.load(algo, path, digest), data, cols), proba, rtol=1e-6)
    # served as the registry serves it: raw rows in, one probability column per class out
    served = ProbabilityModel()
    served.load_context(LocalContext(str(path), algo, cols, model_sha256=digest))
    raw = data.drop(columns=["id", "date", "label"]).astype({"cat": object})
    out = served.predict(None, raw)
    assert list(out.columns) == [*(f"proba_{c}" for c in classes), "prediction"]
    np.testing.assert_allclose(out[[f"proba_{c}" for c in classes]].to_numpy(), proba, rtol=1e-6)
    assert (out["prediction"] == models.predicted_labels(proba, list(classes))).all()
    if len(classes) == 2:  # the decision threshold saved with the model decides the class
        served.load_context(LocalContext(str(path), algo, cols, threshold=0.9, model_sha256=digest))
        flagged = served.predict(None, raw)["prediction"] == classes[1]
        assert (flagged == (proba[:, 1] >= 0.9)).all() and flagged.sum() <= (proba[:, 1] >= 0.5).sum()


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_training_is_deterministic_to_the_byte(algo, tmp_path):
    # The same fit must give the same native file: a re-run week reuses its registered version.
    data = labelled()
    files = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        files.append(models.save(algo, models.fit(algo, data, COLUMNS, HYPER[algo], 7, 1), tmp_path / run))
    assert files[0].read_bytes() == files[1].read_bytes()


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_a_class_absent_from_training_still_gets_a_column(algo):
    cols = {**COLUMNS, "classes": ["low", "mid", "high", "unseen"]}
    data = labelled()
    model = models.fit(algo, data, cols, HYPER[algo], 1, 1)
    proba = models.predict_proba(algo, model, data, cols)
    assert proba.shape == (len(data), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_an_unknown_algorithm_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown algorithm 'xgboost'; known: lightgbm, catboost, hist_gradient_boosting"):
        algorithm("xgboost")


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_unseen_category_at_prediction_time(algo):
    data = labelled()
    model = models.fit(algo, data, COLUMNS, HYPER[algo], 1, 1)
    new = data.head(5).assign(cat="never-seen")
    assert models.predict_proba(algo, model, new, COLUMNS).shape == (5, 3)


def test_split_window_is_time_ordered_and_guards_the_week():
    data = labelled()
    train, valid = models.split_window(data, "date", ["2022-01-02", "2022-01-09"], ["2022-01-09"])
    assert train["date"].max() < pd.Timestamp("2022-01-09") <= valid["date"].min()
    assert len(train) + len(valid) == len(data)
    with pytest.raises(ValueError, match="holds rows dated from 2022-01-09 on"):
        models.split_window(data, "date", ["2022-01-02"], ["2022-01-02"])


def test_recency_weights_halve_every_half_life():
    dates = pd.Series(pd.to_datetime(["2022-01-09", "2022-01-02", "2021-12-26", "2021-12-05"]))
    np.testing.assert_allclose(models.recency_weights(dates, "2022-01-09", 2), [1.0, 0.5 ** 0.5, 0.5, 0.5 ** 2.5])
    assert models.recency_weights(dates, "2022-01-09", 0) is None


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_refit_learns_from_the_validation_weeks_too(algo):
    data = labelled()
    train, valid = models.split_window(data, "date", ["2022-01-02", "2022-01-09"], ["2022-01-09"])
    held, metrics = models.fit_and_validate(algo, train, valid, COLUMNS, HYPER[algo], 1, 1, "2022-01-09", 1)
    whole, refit_metrics = models.refit(algo, train, valid, COLUMNS, HYPER[algo], 1, 1, "2022-01-09", 1)
    assert metrics["train_rows"] == len(train) and refit_metrics["refit_rows"] == len(data)
    assert not np.allclose(models.predict_proba(algo, held, valid, COLUMNS), models.predict_proba(algo, whole, valid, COLUMNS))
