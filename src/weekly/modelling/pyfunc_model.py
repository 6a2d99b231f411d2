"""MLflow models-from-code entry point: the registered model is a ProbabilityModel."""
from mlflow.models import set_model

from weekly.modelling.serving import ProbabilityModel

set_model(ProbabilityModel())
