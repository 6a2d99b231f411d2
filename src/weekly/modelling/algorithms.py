"""The candidate algorithms as a table of adapters, one object per algorithm.

An adapter owns everything that differs between algorithms: the native file name, how
features are prepared, fit, class probabilities, save, load, and the distributions to pin
when the model is logged to MLflow. The rest of the package only looks algorithms up in
ALGORITHMS; an unknown name is refused when params.yaml is validated.

Every native file is a format that holds data, not code: LightGBM's text model, CatBoost's
`.cbm` and skops for scikit-learn (restricted to TRUSTED_SKOPS_TYPES), never pickle, so a
file put in a model's place cannot run anything when it is read. An adapter builds its
model from the file's bytes (`loads`), which weekly.modelling.models.load has checked against the
digest recorded when the file was saved.

Libraries are imported inside the methods, so a week that neither trains nor scores with
an algorithm never pays for its import.

Adding a model touches: an adapter here (and its entry in ALGORITHMS), its hyperparameter
section in the schema and in params.yaml, its pin in pyproject.toml and environment.yml.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MISSING_CATEGORY = "__missing__"

# The types a fitted HistGradientBoostingClassifier holds beyond those skops trusts by default
# (skops.io.get_untrusted_types on fits with and without categoricals, binary and multiclass):
# its trees, and the numeric columns' check of a fit with categoricals (partial(check_array)).
# Any other type in a file is refused before anything is built.
TRUSTED_SKOPS_TYPES = (
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)
# A fixed time stamp for every member of a skops archive (the earliest a zip can hold).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _full_proba(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    # A model that saw only some classes gives columns for those: the others get 0.
    if proba.shape[1] == n_classes:
        return proba
    out = np.zeros((len(proba), n_classes))
    out[:, np.asarray(seen, dtype=np.int64)] = proba
    return out


def _as_categories(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    # pandas categories: LightGBM and scikit-learn keep each column's values with the model,
    # so codes line up at prediction time whatever values a later frame holds.
    for col in categorical:
        if isinstance(X[col].dtype, pd.CategoricalDtype):  # a training window's (data.read_training_window)
            X[col] = X[col].cat.remove_unused_categories()  # the values of these rows, as from strings
        else:
            X[col] = X[col].astype("category")
    return X


class Algorithm:
    """What every adapter provides. `y` is the class index 0..n_classes-1 in configured order."""

    name: str
    native_file: str
    distributions: tuple[str, ...]

    def features(self, X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
        """The feature frame in the form the library takes (X is a copy, free to change)."""
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: np.ndarray, n_classes: int, categorical: list[str],
            hyper: dict, seed: int, threads: int, weight: np.ndarray | None = None) -> Any:
        """Fit on X, y; `weight` (None: equal) weighs the rows."""
        raise NotImplementedError

    def predict_proba(self, model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
        """One column per configured class, rows summing to 1."""
        raise NotImplementedError

    def raw_score(self, model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
        """The raw scores (log-odds) the probabilities come from: rows x score columns
        (binary: 1, the event's; else one per class)."""
        raise NotImplementedError

    def contributions(self, model: Any, X: pd.DataFrame, n_classes: int, threads: int = 1) -> np.ndarray | None:
        """Each feature's exact contribution to each row's raw score (TreeSHAP, on `threads`
        threads: each row's alone, so the same whatever their number), rows x score columns
        (as raw_score) x (features + 1: the last is the expected value); they sum to the raw
        score (weekly.modelling.reasons checks it). None when there is none."""
        return None

    def save(self, model: Any, path: Path) -> None:
        """Write the native file; the same fit gives the same bytes."""
        model.save_model(str(path))

    def loads(self, data: bytes) -> Any:
        """The model held by the bytes of a native file (checked by the caller, never re-read)."""
        raise NotImplementedError


class LightGBM(Algorithm):
    """LightGBM's Booster; categoricals as pandas categories (their values are kept in the model file)."""

    name = "lightgbm"
    native_file = "model.txt"
    distributions = ("lightgbm",)

    features = staticmethod(_as_categories)

    def fit(self, X, y, n_classes, categorical, hyper, seed, threads, weight=None):
        import lightgbm as lgb

        binary = n_classes == 2
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
            params["num_class"] = n_classes
        dataset = lgb.Dataset(X, y, weight=weight, categorical_feature=categorical or "auto", free_raw_data=True)
        return lgb.train(params, dataset, num_boost_round=hyper["num_iterations"])

    def predict_proba(self, model, X, n_classes):
        proba = np.asarray(model.predict(X))
        if proba.ndim == 1:  # binary: P(second class)
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    def raw_score(self, model, X, n_classes):
        return np.asarray(model.predict(X, raw_score=True)).reshape(len(X), 1 if n_classes == 2 else n_classes)

    def contributions(self, model, X, n_classes, threads=1):
        values = np.asarray(model.predict(X, pred_contrib=True, num_threads=threads))
        return values.reshape(len(X), 1 if n_classes == 2 else n_classes, X.shape[1] + 1)

    def loads(self, data):
        import lightgbm as lgb

        return lgb.Booster(model_str=data.decode("utf-8"))


class CatBoost(Algorithm):
    """CatBoost's classifier; categoricals as strings, missing as their own value."""

    name = "catboost"
    native_file = "model.cbm"
    distributions = ("catboost",)

    def features(self, X, categorical):
        for col in categorical:
            X[col] = X[col].astype(object).fillna(MISSING_CATEGORY).astype(str)
        return X

    def fit(self, X, y, n_classes, categorical, hyper, seed, threads, weight=None):
        from catboost import CatBoostClassifier

        model = CatBoostClassifier(
            **hyper,
            loss_function="Logloss" if n_classes == 2 else "MultiClass",
            class_names=list(range(n_classes)),
            random_seed=seed,
            thread_count=threads,
            allow_writing_files=False,
            verbose=False,
        )
        return model.fit(X, y, cat_features=categorical, sample_weight=weight)

    def predict_proba(self, model, X, n_classes):
        return np.asarray(model.predict_proba(X))

    def raw_score(self, model, X, n_classes):
        raw = np.asarray(model.predict(X, prediction_type="RawFormulaVal"))
        return raw.reshape(len(X), 1 if n_classes == 2 else n_classes)

    def contributions(self, model, X, n_classes, threads=1):
        from catboost import Pool

        pool = Pool(X, cat_features=model.get_cat_feature_indices())
        values = np.asarray(model.get_feature_importance(data=pool, type="ShapValues", thread_count=threads))
        return values.reshape(len(X), 1 if n_classes == 2 else n_classes, X.shape[1] + 1)

    def save(self, model, path):
        # A random guid and the finish time would make every fit's file differ: the same
        # fit must give the same bytes, so that a re-run week reuses its registered version.
        metadata = model.get_metadata()
        for key in ("model_guid", "train_finish_time"):
            if key in metadata:
                del metadata[key]
        model.save_model(str(path))

    def loads(self, data):
        from catboost import CatBoostClassifier

        return CatBoostClassifier().load_model(blob=data)


class HistGradientBoosting(Algorithm):
    """scikit-learn's HistGradientBoostingClassifier, saved with skops; categoricals from pandas categories.

    Early stopping is off so that a fit never depends on a random inner split; threads are
    capped with threadpoolctl around fit and predict.
    """

    name = "hist_gradient_boosting"
    native_file = "model.skops"
    distributions = ("scikit-learn", "skops", "shap")

    features = staticmethod(_as_categories)

    def fit(self, X, y, n_classes, categorical, hyper, seed, threads, weight=None):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        model = HistGradientBoostingClassifier(
            **hyper, categorical_features="from_dtype", early_stopping=False, random_state=seed
        )
        with threadpool_limits(limits=threads, user_api="openmp"):
            return model.fit(X, y, sample_weight=weight)

    def predict_proba(self, model, X, n_classes):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            proba = model.predict_proba(X)
        return _full_proba(proba, model.classes_, n_classes)

    def raw_score(self, model, X, n_classes):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            raw = np.asarray(model.decision_function(X))
        return raw.reshape(len(X), -1)

    def contributions(self, model, X, n_classes, threads=1):
        # scikit-learn has no TreeSHAP of its own: shap's TreeExplainer reads the fitted trees.
        # It misreads their categorical splits (its sums then miss the raw score by whole
        # log-odds, measured): reasons.raw_contributions checks the sums and drops them.
        if len(model.classes_) != n_classes:  # a window that lacked a class: columns would not line up
            return None
        import shap
        from threadpoolctl import threadpool_limits

        explainer = shap.TreeExplainer(model)
        with threadpool_limits(limits=threads, user_api="openmp"):
            values = np.asarray(explainer.shap_values(X.apply(_codes_as_numbers)))
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        if values.ndim == 2:  # binary: rows x features
            values = values[:, None, :]
        else:  # rows x features x classes
            values = values.transpose(0, 2, 1)
        expected = np.broadcast_to(base[None, :, None], (len(X), values.shape[1], 1))
        return np.concatenate([values, expected], axis=2)

    def save(self, model, path):
        import skops.io as sio

        Path(path).write_bytes(_reproducible_skops(sio.dumps(model)))

    def loads(self, data):
        import skops.io as sio

        return sio.loads(data, trusted=list(TRUSTED_SKOPS_TYPES))


def _codes_as_numbers(column: pd.Series) -> pd.Series:
    # shap reads numbers only: a category column as the codes scikit-learn bins it by (missing: NaN)
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column
    codes = column.cat.codes
    return codes.where(codes >= 0).astype("float64")


def _reproducible_skops(data: bytes) -> bytes:
    """A skops archive with the same bytes for the same model: skops names objects and their
    array members by memory address (id) and stamps members with the time of writing;
    here they are numbered in order of appearance and stamped ZIP_EPOCH."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        files: dict[str, str] = {}

        def renumber(node: Any) -> None:
            if isinstance(node, list):
                for item in node:
                    renumber(item)
            elif isinstance(node, dict):
                for key, value in node.items():
                    if key == "__id__":
                        node[key] = ids.setdefault(value, len(ids))
                    elif key == "file" and isinstance(value, str):
                        node[key] = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
                    else:
                        renumber(value)

        renumber(schema)
        members = {files.get(name, name): source.read(name) for name in source.namelist() if name != "schema.json"}
    members["schema.json"] = json.dumps(schema, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system, info.external_attr = 3, 0o600 << 16  # as on Unix, whatever the platform
            archive.writestr(info, content)
    return out.getvalue()


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (LightGBM(), CatBoost(), HistGradientBoosting())}


def algorithm(name: str) -> Algorithm:
    """The adapter called `name`; an unknown name is an error naming the known ones."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None
