"""Importers that bring another tool's history into Shipyard.

``import_mlflow`` reads an MLflow tracking database (without importing MLflow) and writes
its experiments, runs, metric histories, artifacts, logged models and registry into a
Shipyard store, idempotently, checking what arrived (``shipyard import mlflow``).
"""

from __future__ import annotations

from shipyard.importers._mlflow_import import (
    LOGGED_MODEL_TAG,
    MLFLOW_FLAVOR,
    ImportSummary,
    Progress,
    import_mlflow,
)

__all__ = ["LOGGED_MODEL_TAG", "MLFLOW_FLAVOR", "ImportSummary", "Progress", "import_mlflow"]
