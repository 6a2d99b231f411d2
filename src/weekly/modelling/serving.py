"""The registered model: a pyfunc that takes raw application rows and returns class
probabilities (calibrated on the model's validation weeks, see weekly.modelling.calibration)
and the predicted class (binary: at the decision threshold saved with it); asked with
`params={"reasons": k}`, each row's top k reason codes too.

Logged as code (`pyfunc_model.py`) with this package, the native model file as artifact
and the algorithm, column roles and the native file's sha256 as model config (the file is
checked against it before any library reads it), so that
`mlflow.pyfunc.load_model("models:/<name>@champion")` scores the same raw columns as the
weekly files, whichever algorithm won.
"""
from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

from weekly.modelling import calibration, models
from weekly.inputs.data import categorical_values, labels


class ProbabilityModel(mlflow.pyfunc.PythonModel):
    """Wraps the native file of any adapter (weekly.modelling.algorithms) with the feature preparation it was trained with."""

    def load_context(self, context) -> None:
        self.algo = context.model_config["algo"]
        self.columns = context.model_config["columns"]
        self.threshold = context.model_config.get("threshold")
        self.calibration = context.model_config.get("calibration")
        self.model = models.load(self.algo, context.artifacts["native_model"], context.model_config.get("model_sha256"))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Calibrated probabilities and the predicted class of each row; with params
        {"reasons": k}, its top k reason codes too (weekly.modelling.reasons)."""
        frame = model_input.copy()
        for col in self.columns["numeric"]:
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        for col in self.columns["categorical"]:
            frame[col] = categorical_values(frame[col])
        raw = models.predict_proba(self.algo, self.model, frame, self.columns)
        classes = labels(self.columns)
        result = pd.DataFrame(calibration.apply(raw, self.calibration, classes), columns=[f"proba_{c}" for c in classes])
        result["prediction"] = models.predicted_labels(raw, classes, self.threshold)  # the model's own decision
        k = int((params or {}).get("reasons") or 0)
        if k:
            result = pd.concat([result, models.reason_codes(self.algo, self.model, frame, self.columns, k)], axis=1)
        return result


class LocalContext:
    """The context MLflow hands to load_context, built from local values (to infer a signature)."""

    def __init__(self, native_model: str, algo: str, columns: dict, threshold: float | None = None, *,
                 model_sha256: str, calibration: dict | None = None):
        self.artifacts = {"native_model": native_model}
        self.model_config = {"algo": algo, "columns": columns, "threshold": threshold, "model_sha256": model_sha256,
                             "calibration": calibration}
