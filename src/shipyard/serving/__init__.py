"""Model serving: a registered model behind the Open Inference Protocol (V2) and /predict.

    shipyard serve churn@champion --port 8000

    from shipyard.serving import ServingConfig, create_app
    app = create_app("churn@champion", ServingConfig(max_batch_size=64))

Adaptive micro-batching, the signature enforced on every request, Prometheus metrics, a
Parquet prediction log with labels joined by prediction id, alias following with canary and
shadow rollouts, batch scoring of Parquet files, and self-contained build contexts.

The prediction log is read (and labelled) here too, by users and by monitoring:

    from shipyard.serving import log_labels, logged_inputs, read_labels, read_predictions
    window = read_predictions("churn", start=hour_ago, columns=["prediction_id", "row"])
"""

from shipyard.serving._app import ModelServer, create_app
from shipyard.serving._background import BackgroundServer
from shipyard.serving._batch import predict_file
from shipyard.serving._build import build
from shipyard.serving._config import FeatureSource, ServingConfig
from shipyard.serving._prediction_log import (
    INPUT_PREFIX,
    iter_predictions,
    log_labels,
    log_root,
    logged_inputs,
    read_labels,
    read_predictions,
)
from shipyard.serving._run import serve
from shipyard.serving._service import FEATURE_SERVICE_KEY
from shipyard.serving._wheel import installed_wheel

__all__ = [
    "FEATURE_SERVICE_KEY",
    "INPUT_PREFIX",
    "BackgroundServer",
    "FeatureSource",
    "ModelServer",
    "ServingConfig",
    "build",
    "create_app",
    "installed_wheel",
    "iter_predictions",
    "log_labels",
    "log_root",
    "logged_inputs",
    "predict_file",
    "read_labels",
    "read_predictions",
    "serve",
]
