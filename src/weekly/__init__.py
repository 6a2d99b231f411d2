"""Weekly ML lifecycle of a credit-scoring classifier (see the README and docs/)."""
import os

# MLflow 3 sends usage events to its makers, and fetches their settings over the network,
# unless told not to. A credit-risk pipeline does not call out: off unless the environment
# says otherwise (MLFLOW_DISABLE_TELEMETRY=false turns it back on).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
