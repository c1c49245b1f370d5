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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.serving._app import ModelServer as ModelServer, create_app as create_app
    from shipyard.serving._background import BackgroundServer as BackgroundServer
    from shipyard.serving._batch import predict_file as predict_file
    from shipyard.serving._build import build as build
    from shipyard.serving._config import (
        FeatureSource as FeatureSource,
        ServingConfig as ServingConfig,
    )
    from shipyard.serving._prediction_log import (
        INPUT_PREFIX as INPUT_PREFIX,
        PROBA as PROBA,
        find_prediction as find_prediction,
        iter_predictions as iter_predictions,
        log_labels as log_labels,
        log_root as log_root,
        logged_inputs as logged_inputs,
        read_labels as read_labels,
        read_predictions as read_predictions,
    )
    from shipyard.serving._run import serve as serve
    from shipyard.serving._service import FEATURE_SERVICE_KEY as FEATURE_SERVICE_KEY
    from shipyard.serving._wheel import installed_wheel as installed_wheel

#: Where each public name lives. Imported on first use, so a model server's worker (which
#: imports only the app) or monitoring (which reads only the prediction log) never pays
#: for the parts it does not use (the batch scorer, the build contexts, the background
#: server's HTTP client).
_HOME = {
    "ModelServer": "_app",
    "create_app": "_app",
    "BackgroundServer": "_background",
    "predict_file": "_batch",
    "build": "_build",
    "FeatureSource": "_config",
    "ServingConfig": "_config",
    "INPUT_PREFIX": "_prediction_log",
    "PROBA": "_prediction_log",
    "find_prediction": "_prediction_log",
    "iter_predictions": "_prediction_log",
    "log_labels": "_prediction_log",
    "log_root": "_prediction_log",
    "logged_inputs": "_prediction_log",
    "read_labels": "_prediction_log",
    "read_predictions": "_prediction_log",
    "serve": "_run",
    "FEATURE_SERVICE_KEY": "_service",
    "installed_wheel": "_wheel",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'shipyard.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"shipyard.serving.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "FEATURE_SERVICE_KEY",
    "INPUT_PREFIX",
    "PROBA",
    "BackgroundServer",
    "FeatureSource",
    "ModelServer",
    "ServingConfig",
    "build",
    "create_app",
    "find_prediction",
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
