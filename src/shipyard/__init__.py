"""Shipyard: one package for the whole machine-learning lifecycle.

The names below are the public SDK. They load lazily, so ``import shipyard`` stays fast and a
script pays only for the parts it uses.

    import shipyard

    with shipyard.start_run(experiment="churn") as run:
        shipyard.log_params({"model": "rf", "depth": 8})
        shipyard.log_metric("auc", 0.91)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # tracking
    "ActiveRun": "shipyard.tracking",
    "Client": "shipyard.tracking",
    "active_run": "shipyard.tracking",
    "autolog": "shipyard.tracking",
    "configure": "shipyard.tracking",
    "download_artifact": "shipyard.tracking",
    "end_run": "shipyard.tracking",
    "get_metric_history": "shipyard.tracking",
    "get_run": "shipyard.tracking",
    "log_artifact": "shipyard.tracking",
    "log_metric": "shipyard.tracking",
    "log_metrics": "shipyard.tracking",
    "log_param": "shipyard.tracking",
    "log_params": "shipyard.tracking",
    "search_runs": "shipyard.tracking",
    "set_tag": "shipyard.tracking",
    "set_tags": "shipyard.tracking",
    "start_run": "shipyard.tracking",
    # pipelines
    "pipeline": "shipyard.pipelines",
    "step": "shipyard.pipelines",
    # configuration and records
    "Settings": "shipyard.config",
    "load_settings": "shipyard.config",
    "Experiment": "shipyard.entities",
    "MetricPoint": "shipyard.entities",
    "Run": "shipyard.entities",
    "RunPage": "shipyard.entities",
    "ArtifactInfo": "shipyard.entities",
}

_SUBMODULES = ("data", "errors", "lineage", "pipelines")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])

if TYPE_CHECKING:
    from shipyard import data, errors, lineage, pipelines
    from shipyard.config import Settings, load_settings
    from shipyard.entities import ArtifactInfo, Experiment, MetricPoint, Run, RunPage
    from shipyard.pipelines import pipeline, step
    from shipyard.tracking import (
        ActiveRun,
        Client,
        active_run,
        autolog,
        configure,
        download_artifact,
        end_run,
        get_metric_history,
        get_run,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"shipyard.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
