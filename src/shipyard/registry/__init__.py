"""The model registry: versions, aliases, flavors, signatures and promotion gates.

    import shipyard

    version = shipyard.register_model(model, "churn", input_example=X_train.head())
    shipyard.promote("churn", version.version, to="champion",
                     require=["metrics.auc >= champion.metrics.auc"])
    model = shipyard.models.load("churn@champion")
    model.predict(X_new)

The loader is ``shipyard.models.load`` (``load`` here); ``load_model`` is its deprecated alias.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.registry._api import (
        ModelInfo as ModelInfo,
        alias_history as alias_history,
        delete_alias as delete_alias,
        delete_model as delete_model,
        delete_model_version as delete_model_version,
        find_version as find_version,
        get_model as get_model,
        get_requirements as get_requirements,
        list_model_versions as list_model_versions,
        list_models as list_models,
        load as load,
        log_model as log_model,
        promote as promote,
        register_model as register_model,
        resolve as resolve,
        set_alias as set_alias,
        update_model as update_model,
        update_model_version as update_model_version,
    )
    from shipyard.registry._autolog import autolog as autolog
    from shipyard.registry._cache import (
        cache_root as cache_root,
        fetch_into_cache as fetch_into_cache,
    )
    from shipyard.registry._diff import (
        DiffRow as DiffRow,
        diff_versions as diff_versions,
    )
    from shipyard.registry._flavor_pyfunc import (
        PythonModel as PythonModel,
        PythonModelContext as PythonModelContext,
    )
    from shipyard.registry._flavors import all_flavors as all_flavors
    from shipyard.registry._format import save_model as save_model
    from shipyard.registry._loaded import (
        LoadedModel as LoadedModel,
        ModelMetadata as ModelMetadata,
    )
    from shipyard.registry._refs import (
        ModelRef as ModelRef,
        parse_ref as parse_ref,
    )
    from shipyard.registry._signature import (
        ColumnSpec as ColumnSpec,
        Schema as Schema,
        Signature as Signature,
        TensorSpec as TensorSpec,
        infer_signature as infer_signature,
    )

    get_model_version = resolve  # the same function, as in _api
    #: Deprecated: ``shipyard.models.load`` is the loader's name.
    load_model = load

#: Where each public name lives. Imported on first use, so ``import shipyard.registry``
#: (and a caller of references or the cache only) does not load pandas and numpy, which
#: signatures and loaded models need.
_HOME = {
    "ModelInfo": "_api",
    "alias_history": "_api",
    "delete_alias": "_api",
    "delete_model": "_api",
    "delete_model_version": "_api",
    "find_version": "_api",
    "get_model": "_api",
    "get_model_version": "_api",
    "get_requirements": "_api",
    "list_model_versions": "_api",
    "list_models": "_api",
    "load": "_api",
    "log_model": "_api",
    "promote": "_api",
    "register_model": "_api",
    "resolve": "_api",
    "set_alias": "_api",
    "update_model": "_api",
    "update_model_version": "_api",
    "autolog": "_autolog",
    "cache_root": "_cache",
    "fetch_into_cache": "_cache",
    "DiffRow": "_diff",
    "diff_versions": "_diff",
    "PythonModel": "_flavor_pyfunc",
    "PythonModelContext": "_flavor_pyfunc",
    "all_flavors": "_flavors",
    "save_model": "_format",
    "LoadedModel": "_loaded",
    "ModelMetadata": "_loaded",
    "ModelRef": "_refs",
    "parse_ref": "_refs",
    "ColumnSpec": "_signature",
    "Schema": "_signature",
    "Signature": "_signature",
    "TensorSpec": "_signature",
    "infer_signature": "_signature",
}


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from shipyard._deprecation import renamed

        value: Any = renamed(
            __getattr__("load"), "shipyard.registry.load_model", "shipyard.models.load"
        )
    elif name in _HOME:
        value = getattr(importlib.import_module(f"shipyard.registry.{_HOME[name]}"), name)
    else:
        raise AttributeError(f"module 'shipyard.registry' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME, "load_model"])


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
