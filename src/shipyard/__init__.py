"""Shipyard: one package for the whole machine-learning lifecycle.

The names below are the public SDK. They load lazily, so ``import shipyard`` stays fast and a
script pays only for the parts it uses.

    import shipyard

    with shipyard.start_run(experiment="churn") as run:
        shipyard.log_params({"model": "rf", "depth": 8})
        shipyard.log_metric("auc", 0.91)
        shipyard.register_model(model, "churn", input_example=X.head())

    shipyard.promote("churn", 1, to="champion", require=["metrics.auc > 0.8"])
    shipyard.models.load("churn@champion").predict(X_new)
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
    # model registry
    "LoadedModel": "shipyard.registry",
    "PythonModel": "shipyard.registry",
    "Signature": "shipyard.registry",
    "autolog": "shipyard.registry",
    "infer_signature": "shipyard.registry",
    "log_model": "shipyard.registry",
    "promote": "shipyard.registry",
    "register_model": "shipyard.registry",
    "save_model": "shipyard.registry",
    "set_alias": "shipyard.registry",
    # feature store
    "get_historical_features": "shipyard.features",
    "get_online_features": "shipyard.features",
    "materialize": "shipyard.features",
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
    "AliasEvent": "shipyard.entities",
    "ModelVersion": "shipyard.entities",
    "RegisteredModel": "shipyard.entities",
}
#: Submodules reachable as attributes (``shipyard.models.load("churn@champion")``).
_SUBMODULES = ("data", "errors", "features", "lineage", "models", "pipelines")
#: Former names that still work but warn: name -> (module, the name to use there).
_RENAMED: dict[str, tuple[str, str]] = {
    "load_model": ("shipyard.models", "load"),
}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])

if TYPE_CHECKING:
    # "import X as X": re-exported for type checkers run with --no-implicit-reexport (strict).
    from shipyard import (
        data as data,
        errors as errors,
        features as features,
        lineage as lineage,
        models as models,
        pipelines as pipelines,
    )
    from shipyard.config import (
        Settings as Settings,
        load_settings as load_settings,
    )
    from shipyard.entities import (
        AliasEvent as AliasEvent,
        ArtifactInfo as ArtifactInfo,
        Experiment as Experiment,
        MetricPoint as MetricPoint,
        ModelVersion as ModelVersion,
        RegisteredModel as RegisteredModel,
        Run as Run,
        RunPage as RunPage,
    )
    from shipyard.features import (
        get_historical_features as get_historical_features,
        get_online_features as get_online_features,
        materialize as materialize,
    )
    from shipyard.pipelines import (
        pipeline as pipeline,
        step as step,
    )
    from shipyard.registry import (
        LoadedModel as LoadedModel,
        PythonModel as PythonModel,
        Signature as Signature,
        autolog as autolog,
        infer_signature as infer_signature,
        load_model as load_model,
        log_model as log_model,
        promote as promote,
        register_model as register_model,
        save_model as save_model,
        set_alias as set_alias,
    )
    from shipyard.tracking import (
        ActiveRun as ActiveRun,
        Client as Client,
        active_run as active_run,
        configure as configure,
        download_artifact as download_artifact,
        end_run as end_run,
        get_metric_history as get_metric_history,
        get_run as get_run,
        log_artifact as log_artifact,
        log_metric as log_metric,
        log_metrics as log_metrics,
        log_param as log_param,
        log_params as log_params,
        search_runs as search_runs,
        set_tag as set_tag,
        set_tags as set_tags,
        start_run as start_run,
    )


def _deprecated_alias(name: str) -> Any:
    """The warning alias of a former name (``shipyard.load_model``) for its new home."""
    from shipyard._deprecation import renamed

    module, new_name = _RENAMED[name]
    func = getattr(importlib.import_module(module), new_name)
    return renamed(func, f"shipyard.{name}", f"{module}.{new_name}")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"shipyard.{name}")
    if name in _RENAMED:
        value = _deprecated_alias(name)
    else:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
