"""``shipyard.models``: the model registry under short names.

    import shipyard

    model = shipyard.models.load("churn@champion")   # or "churn/3", "churn@latest",
    model.predict(frame)                              # "runs:/<run_id>/model"
    shipyard.models.promote("churn", 4, to="champion", require=["metrics.auc > 0.8"])

Each name is the same function as in :mod:`shipyard.registry` (``load`` is ``load_model``,
``register`` is ``register_model``, ``get`` is ``get_model``, ``list`` is ``list_models``...).
"""

from __future__ import annotations

from shipyard.registry import (
    LoadedModel,
    PythonModel,
    Signature,
    alias_history,
    delete_alias,
    delete_model,
    delete_model_version,
    diff_versions,
    get_model,
    get_model_version,
    get_requirements,
    infer_signature,
    list_model_versions,
    list_models,
    load_model,
    log_model,
    promote,
    register_model,
    save_model,
    set_alias,
)

load = load_model
register = register_model
log = log_model
save = save_model
get = get_model
list = list_models
versions = list_model_versions
get_version = get_model_version
history = alias_history
requirements = get_requirements
diff = diff_versions
delete = delete_model

__all__ = [
    "LoadedModel",
    "PythonModel",
    "Signature",
    "delete",
    "delete_alias",
    "delete_model_version",
    "diff",
    "get",
    "get_version",
    "history",
    "infer_signature",
    "list",
    "load",
    "log",
    "promote",
    "register",
    "requirements",
    "save",
    "set_alias",
    "versions",
]
