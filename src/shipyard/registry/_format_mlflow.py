"""MLflow-format model folders (an ``MLmodel`` file and the flavor's files), read without
MLflow.

A version logged by MLflow's client (through Shipyard's MLflow API, or brought over by
``shipyard import mlflow``) is an MLflow model folder with flavor ``mlflow``. Loading it with
Shipyard's own loader reads ``MLmodel`` (YAML, ``safe_load`` only) into a descriptor with
flavor ``mlflow`` and the signature translated to Shipyard's, and :class:`MlflowFlavor` loads
the model with the matching Shipyard flavor. Only MLflow's scikit-learn flavor is read: its
``skops`` files through Shipyard's skops loader (types outside the allow-list need
``trusted=[...]``; the allow-list that MLflow writes into ``MLmodel`` is never used, since it
comes from the model itself), ``pickle`` and ``cloudpickle`` files only with
``trusted=True``. Any other flavor is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from shipyard import _validation as v
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.registry._flavors import Predictor, SaveOptions, Trust
from shipyard.registry._signature import COLUMN_TYPES

#: The file that makes a folder an MLflow model.
MLMODEL = "MLmodel"
#: The flavor of a Shipyard version that is an MLflow model folder.
FLAVOR = "mlflow"
#: MLflow's sklearn serialization formats, as the Shipyard sklearn flavor's formats.
_SKLEARN_FORMATS = {"skops": "skops", "pickle": "pickle", "cloudpickle": "pickle"}


def is_mlflow_model(folder: Path) -> bool:
    """Whether ``folder`` is an MLflow model folder (has an ``MLmodel`` file)."""
    return (Path(folder) / MLMODEL).is_file()


def mlflow_descriptor(folder: Path) -> dict[str, Any]:
    """The descriptor of an MLflow model folder: flavor ``mlflow``, MLflow's flavors as
    ``mlflow_flavors``, the signature in Shipyard's form (None when MLflow's cannot be
    expressed), the Python version and the requirements of ``requirements.txt``."""
    import yaml

    path = Path(folder) / MLMODEL
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            f"{path} is not a readable MLmodel file: {exc}", field="path"
        ) from None
    flavors = data.get("flavors") if isinstance(data, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise InvalidArgument(f"{path} names no MLflow flavor", field="path")
    pyfunc = flavors.get("python_function")
    requirements = Path(folder) / "requirements.txt"
    return {
        "flavor": FLAVOR,
        "mlflow_flavors": flavors,
        "mlflow_version": str(data.get("mlflow_version", "")),
        "signature": _signature(data.get("signature")),
        "input_example": None,
        "python_version": str(pyfunc.get("python_version", "")) if isinstance(pyfunc, dict) else "",
        "requirements": _requirements(requirements) if requirements.is_file() else [],
    }


def _requirements(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def _signature(raw: Any) -> dict[str, Any] | None:
    """MLflow's signature (inputs and outputs as JSON strings of column or tensor specs) in
    Shipyard's form; None when there is none or it has unnamed columns."""
    if not isinstance(raw, dict) or not raw.get("inputs"):
        return None
    try:
        inputs = _schema(orjson.loads(raw["inputs"]))
        outputs = _schema(orjson.loads(raw["outputs"])) if raw.get("outputs") else None
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        return None
    return None if inputs is None else {"inputs": inputs, "outputs": outputs}


def _schema(specs: Any) -> dict[str, Any] | None:
    if not isinstance(specs, list) or not specs:
        return None
    if len(specs) == 1 and specs[0].get("type") == "tensor":
        tensor = specs[0]["tensor-spec"]
        return {"type": "tensor", "dtype": str(tensor["dtype"]), "shape": list(tensor["shape"])}
    columns = []
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return None
        kind = spec.get("type")
        columns.append(
            {
                "name": spec["name"],
                "type": kind if kind in COLUMN_TYPES else "any",
                "nullable": not spec.get("required", True),
            }
        )
    return {"type": "columns", "columns": columns}


class MlflowFlavor:
    """Models in MLflow's format: loaded, never saved (MLflow's client makes them)."""

    name = FLAVOR

    def matches(self, model: Any) -> bool:
        return False

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        raise InvalidArgument(
            "the 'mlflow' flavor marks models logged by MLflow's client; save models with a "
            "Shipyard flavor (sklearn, xgboost, lightgbm, onnx, pyfunc)",
            field="flavor",
        )

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        flavors = descriptor.get("mlflow_flavors")
        if not isinstance(flavors, Mapping):
            flavors = mlflow_descriptor(folder)["mlflow_flavors"]
        sklearn = flavors.get("sklearn")
        if not isinstance(sklearn, Mapping):
            own = [str(n) for n in flavors if n != "python_function"] or [str(n) for n in flavors]
            named = ", ".join(repr(n) for n in own)
            raise InvalidArgument(
                f"{label} is an MLflow model of flavor {named}; Shipyard's loader reads "
                "MLflow's 'sklearn' flavor only: load this one with MLflow "
                "(mlflow.pyfunc.load_model)",
                field="flavor",
            )
        return _load_sklearn(folder, sklearn, trust, label)


def _load_sklearn(folder: Path, flavor: Mapping[str, Any], trust: Trust, label: str) -> Predictor:
    from shipyard.registry._flavor_sklearn import SklearnFlavor

    serialization = str(flavor.get("serialization_format") or "cloudpickle")
    fmt = _SKLEARN_FORMATS.get(serialization)
    if fmt is None:
        raise InvalidArgument(
            f"{label} is an MLflow sklearn model in format {serialization!r}; Shipyard reads "
            f"{', '.join(sorted(_SKLEARN_FORMATS))}",
            field="serialization_format",
        )
    file = v.check_artifact_path(str(flavor.get("pickled_model") or "model.pkl"))
    if not (folder / file).is_file():
        raise InvalidArgument(f"{label}: its MLmodel names {file!r}, which is not in the model")
    if fmt == "pickle" and not trust.everything:
        raise _pickle_refused(label, serialization)
    return SklearnFlavor().load(folder, {"file": file, "format": fmt}, trust, label)


def _pickle_refused(label: str, serialization: str) -> PermissionDenied:
    return PermissionDenied(
        f"{label} is an MLflow scikit-learn model stored with {serialization}, which can run "
        "arbitrary code when it is loaded; load it with trusted=True only if you trust where "
        "it came from (MLflow's client logs skops files, loadable without it, with "
        "serialization_format='skops')",
        field="trusted",
    )
