"""Importers that bring another tool's history into Shipyard.

``import_mlflow`` reads an MLflow store (a SQLite tracking database, an ``mlruns`` file
store or a live tracking server, without importing MLflow) and writes its experiments, runs,
metric histories, artifacts, logged models and registry into a Shipyard store, idempotently,
checking what arrived (``shipyard import mlflow``). ``open_source`` opens (and checks) the
store first, so a caller can report a bad source before it starts.
"""

from __future__ import annotations

from shipyard.importers._mlflow_import import (
    LOGGED_MODEL_TAG,
    MLFLOW_FLAVOR,
    ImportSummary,
    Progress,
    import_mlflow,
    open_source,
)

__all__ = [
    "LOGGED_MODEL_TAG",
    "MLFLOW_FLAVOR",
    "ImportSummary",
    "Progress",
    "import_mlflow",
    "open_source",
]
