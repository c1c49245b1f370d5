"""The model registry: versions, aliases, flavors, signatures and promotion gates.

    import shipyard

    version = shipyard.register_model(model, "churn", input_example=X_train.head())
    shipyard.promote("churn", version.version, to="champion",
                     require=["metrics.auc >= champion.metrics.auc"])
    model = shipyard.models.load("churn@champion")
    model.predict(X_new)

The loader is ``shipyard.models.load`` (``load`` here); ``load_model`` is its deprecated alias.
"""

from shipyard._deprecation import renamed
from shipyard.registry._api import (
    ModelInfo,
    alias_history,
    delete_alias,
    delete_model,
    delete_model_version,
    find_version,
    get_model,
    get_model_version,
    get_requirements,
    list_model_versions,
    list_models,
    load,
    log_model,
    promote,
    register_model,
    resolve,
    set_alias,
    update_model,
    update_model_version,
)
from shipyard.registry._autolog import autolog
from shipyard.registry._cache import cache_root, fetch_into_cache
from shipyard.registry._diff import DiffRow, diff_versions
from shipyard.registry._flavor_pyfunc import PythonModel, PythonModelContext
from shipyard.registry._flavors import all_flavors
from shipyard.registry._format import save_model
from shipyard.registry._loaded import LoadedModel, ModelMetadata
from shipyard.registry._refs import ModelRef, parse_ref
from shipyard.registry._signature import ColumnSpec, Schema, Signature, TensorSpec, infer_signature

#: Deprecated: ``shipyard.models.load`` is the loader's name.
load_model = renamed(load, "shipyard.registry.load_model", "shipyard.models.load")

__all__ = [
    "ColumnSpec",
    "DiffRow",
    "LoadedModel",
    "ModelInfo",
    "ModelMetadata",
    "ModelRef",
    "PythonModel",
    "PythonModelContext",
    "Schema",
    "Signature",
    "TensorSpec",
    "alias_history",
    "all_flavors",
    "autolog",
    "cache_root",
    "delete_alias",
    "delete_model",
    "delete_model_version",
    "diff_versions",
    "fetch_into_cache",
    "find_version",
    "get_model",
    "get_model_version",
    "get_requirements",
    "infer_signature",
    "list_model_versions",
    "list_models",
    "load",
    "log_model",
    "parse_ref",
    "promote",
    "register_model",
    "resolve",
    "save_model",
    "set_alias",
    "update_model",
    "update_model_version",
]
