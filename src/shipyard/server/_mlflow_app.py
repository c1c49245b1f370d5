"""MLflow's REST API on the Shipyard server: ``mount_mlflow`` adds its routes to the app.

MLflow's client (``mlflow.set_tracking_uri("http://shipyard:8080")``) then works against
Shipyard unchanged; see docs/mlflow.md for what is and is not served.
"""

from __future__ import annotations

from fastapi import FastAPI

from shipyard.server import (
    _mlflow_artifacts,
    _mlflow_models,
    _mlflow_registry,
    _mlflow_tracking,
)
from shipyard.server._mlflow_wire import ALL_PREFIXES, MlflowRoutes, not_served


def mount_mlflow(app: FastAPI) -> None:
    """Serve MLflow's API paths (``/api/2.0/mlflow/...``) from ``app``'s store: one route,
    first, so neither API's requests are matched against the other's routes one by one."""
    routes = [
        *_mlflow_tracking.routes(),
        *_mlflow_models.routes(),
        *_mlflow_registry.routes(),
        *_mlflow_artifacts.routes(),
    ]
    app.router.routes.insert(0, MlflowRoutes([*routes, *not_served()], ALL_PREFIXES))
