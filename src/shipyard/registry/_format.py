"""The model folder: the flavor's files plus ``shipyard-model.json``, the descriptor that says
how to load them, what the model accepts (signature and input example) and what it needs
(Python version and pinned requirements)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from shipyard.errors import InvalidArgument, NotFound
from shipyard.registry._flavors import SaveOptions, Trust, flavor_for, flavor_named
from shipyard.registry._format_mlflow import is_mlflow_model, mlflow_descriptor
from shipyard.registry._requirements import installed_version, pin, python_version
from shipyard.registry._signature import Signature, example_to_json, infer_signature

DESCRIPTOR = "shipyard-model.json"
FORMAT_VERSION = 1


def _signature_dict(
    signature: Signature | Mapping[str, Any] | None,
    input_example: Any,
    model: Any,
) -> dict[str, Any] | None:
    if isinstance(signature, Signature):
        return signature.to_dict()
    if signature is not None:
        return Signature.from_dict(signature).to_dict()  # validates
    if input_example is None:
        return None
    output = None
    predict = getattr(model, "predict", None)
    if callable(predict):
        try:
            output = predict(input_example)
        except Exception:  # an example the model cannot score still documents the input
            output = None
    return infer_signature(input_example, output).to_dict()


def save_model(
    model: Any,
    path: str | Path,
    *,
    flavor: str | None = None,
    signature: Signature | Mapping[str, Any] | None = None,
    input_example: Any = None,
    requirements: Sequence[str] | None = None,
    extra_requirements: Sequence[str] = (),
    trusted: bool | Collection[str] = False,
    config: Mapping[str, Any] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Write ``model`` into the folder ``path`` and return its descriptor.

    Args:
        model: The model object.
        path: The folder to write (created; it must be empty).
        flavor: The flavor to save with; detected from the model when None.
        signature: The inputs (and outputs) the model accepts; without one, it is inferred
            from ``input_example`` (and the model's predictions for it).
        input_example: A few rows of input, stored in the descriptor.
        requirements: The pinned requirements, replacing the list captured from the
            installed packages.
        extra_requirements: Requirements added to that list.
        trusted: ``True`` allows pickle when no safe format can hold the model; a list of
            ``module.Class`` names allows those classes in the safe format.
        config: A ``PythonModel``'s constructor arguments (JSON).
        artifacts: A ``PythonModel``'s files by name.

    Returns:
        The descriptor written to ``shipyard-model.json``: flavor, format details,
        signature, input example, Python version and requirements.

    Raises:
        InvalidArgument: ``path`` is not an empty folder, the flavor is unknown, or no
            flavor can save the model.
    """
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidArgument(f"{folder} exists and is not an empty folder", field="path")
    folder.mkdir(parents=True, exist_ok=True)
    chosen = flavor_named(flavor) if flavor else flavor_for(model)
    options = SaveOptions(Trust.of(trusted), config, artifacts)
    details = chosen.save(model, folder, options)
    packages = details.pop("packages", [])
    if requirements is not None:
        pinned = [str(r) for r in requirements]
    else:
        pinned = (
            pin([*packages, "shipyard"]) if details.get("format") != "pickle" else pin(packages)
        )
    descriptor = {
        "shipyard_model": FORMAT_VERSION,
        "flavor": chosen.name,
        **details,
        "signature": _signature_dict(signature, input_example, model),
        "input_example": None if input_example is None else example_to_json(input_example),
        "python_version": python_version(),
        "requirements": [*pinned, *(str(r) for r in extra_requirements)],
        "shipyard_version": installed_version("shipyard") or "",
    }  # no timestamp: saving the same model twice gives the same files (and manifest digest)
    (folder / DESCRIPTOR).write_bytes(orjson.dumps(descriptor, option=orjson.OPT_INDENT_2))
    return descriptor


def read_descriptor(folder: Path) -> dict[str, Any]:
    """The descriptor of a model folder (a Shipyard one, or an MLflow one: flavor ``mlflow``),
    or NotFound when the folder holds no model."""
    path = Path(folder) / DESCRIPTOR
    if not path.is_file() and is_mlflow_model(folder):
        return mlflow_descriptor(folder)
    if not path.is_file():
        raise NotFound(f"{folder} is not a Shipyard model folder (no {DESCRIPTOR})", field="path")
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"{path} is not valid JSON: {exc}", field="path") from None
    if not isinstance(data, dict) or "flavor" not in data:
        raise InvalidArgument(f"{path} does not describe a model (no flavor)", field="path")
    return data
