"""``shipyard.models``: the model registry under short names.

    import shipyard

    model = shipyard.models.load("churn@champion")   # or "churn/3", "churn@latest",
    model.predict(frame)                              # "runs:/<run_id>/model"
    shipyard.models.promote("churn", 4, to="champion", require=["metrics.auc > 0.8"])

Each name is the same function as in :mod:`shipyard.registry` (``register`` is
``register_model``, ``get`` is ``get_model``, ``versions`` is ``list_model_versions``...).
``load`` is the loader's one name; ``shipyard.load_model`` and ``shipyard.registry.load_model``
are deprecated aliases of it, as ``list`` (which shadowed the builtin) is of ``list_models``.
"""

from __future__ import annotations

from shipyard._deprecation import renamed
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
    load,
    log_model,
    promote,
    register_model,
    save_model,
    set_alias,
)

register = register_model
log = log_model
save = save_model
get = get_model
versions = list_model_versions
get_version = get_model_version
history = alias_history
requirements = get_requirements
diff = diff_versions
delete = delete_model

#: Deprecated: it shadowed the builtin ``list``; ``list_models`` is the name.
list = renamed(list_models, "shipyard.models.list", "shipyard.models.list_models")

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
    "list_models",
    "load",
    "log",
    "promote",
    "register",
    "requirements",
    "save",
    "set_alias",
    "versions",
]
