"""The ``pyfunc`` flavor: custom Python models (a class with ``load_context`` and ``predict``).

The safe form stores no code: the class must be importable by its module path, its
constructor arguments are saved as JSON (``config=``) and its files as artifacts
(``artifacts={"vocab": "vocab.json"}``). Loading imports the class, builds it with the config
and calls ``load_context(context)``, where ``context.artifacts`` maps each artifact name to its
local path. A class defined in ``__main__`` or in a notebook cell cannot be imported
elsewhere; it can be saved only with ``trusted=True`` (cloudpickle), and loaded only with
``trusted=True`` again. Importing is running code, so loading the safe form needs trust too:
``trusted=True``, or the class named (``trusted=["mypackage.models.Scaled"]``).
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shipyard import _validation as v
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.registry._flavors import (
    PICKLE_FILE,
    Predictor,
    SaveOptions,
    Trust,
    class_name,
    dump_pickle,
    import_class,
    load_pickle,
)
from shipyard.registry._requirements import distributions_for_modules
from shipyard.registry._safe_state import dotted_name

ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context`` gets: local paths of the model's artifacts, and its config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class for custom models (subclassing is optional: any class with ``predict``
    works). Override ``load_context`` to read artifacts, and ``predict``."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, before the first predict."""

    def predict(self, model_input: Any) -> Any:
        """Return predictions for ``model_input`` (a DataFrame when the model has a column
        signature)."""
        raise NotImplementedError


def _importable(cls: type) -> bool:
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return False
    try:
        return import_class(f"{cls.__module__}:{cls.__qualname__}") is cls
    except Exception:
        return False


def _copy_artifacts(artifacts: Mapping[str, str | Path], folder: Path) -> dict[str, str]:
    paths = {}
    for name, source in artifacts.items():
        v.check_key(name, "artifact name")
        source = Path(source)
        target = folder / ARTIFACTS_DIR / name / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        else:
            raise InvalidArgument(
                f"artifact {name!r}: no such file or folder {source}", field="artifacts"
            )
        paths[name] = target.relative_to(folder).as_posix()
    return paths


class PyfuncFlavor:
    """Any Python object with a ``predict`` method."""

    name = "pyfunc"

    def matches(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None)) and not isinstance(model, type)

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        config = dict(options.config or {})
        try:
            orjson.dumps(config)
        except TypeError as exc:
            raise InvalidArgument(
                f"config must be JSON-serializable: {exc}", field="config"
            ) from None
        artifacts = _copy_artifacts(options.artifacts or {}, folder)
        cls = type(model)
        common = {
            "class": class_name(model),
            "config": config,
            "artifacts": artifacts,
            "methods": [
                m for m in ("predict", "predict_proba") if callable(getattr(model, m, None))
            ],
        }
        if _importable(cls):
            packages = distributions_for_modules([cls.__module__])
            return {**common, "format": "pyfunc", "class": f"{cls.__module__}:{cls.__qualname__}",
                    "packages": ["numpy", "pandas", *packages]}  # fmt: skip
        if not options.trust.everything:
            raise InvalidArgument(
                f"cannot save {class_name(model)} safely: the class cannot be imported by its "
                "module path (defined in __main__, a notebook or a function); move it into an "
                "importable module, or pass trusted=True to store it with cloudpickle",
                field="model",
            )
        extra = dump_pickle(model, folder / PICKLE_FILE)
        return {
            **common,
            "format": "pickle",
            "file": PICKLE_FILE,
            "packages": ["numpy", "pandas", *extra],
        }

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        config = dict(descriptor.get("config") or {})
        artifacts = {
            name: str(folder / rel) for name, rel in (descriptor.get("artifacts") or {}).items()
        }
        if descriptor.get("format") == "pickle":
            model = load_pickle(folder / str(descriptor.get("file", PICKLE_FILE)), trust, label)
        else:
            cls = import_class(_trusted_class(descriptor, trust, label))
            if not callable(getattr(cls, "predict", None)):
                raise InvalidArgument(f"{label}: class {descriptor['class']} has no predict method")
            try:
                model = cls(**config)
            except TypeError as exc:
                raise InvalidArgument(
                    f"{label}: cannot build {descriptor['class']} from its config: {exc}"
                ) from None
        context = PythonModelContext(artifacts, config)
        load_context = getattr(model, "load_context", None)
        if callable(load_context):
            load_context(context)
        predict = _bind(model.predict, context)
        proba = getattr(model, "predict_proba", None)
        return Predictor(model, predict, None if proba is None else _bind(proba, context))


def _trusted_class(descriptor: Mapping[str, Any], trust: Trust, label: str) -> str:
    """The class a custom model's descriptor names, once the caller trusts it: importing a
    module runs its code, and the descriptor is data anyone with write access could have
    changed, so nothing is imported on its word alone."""
    path = str(descriptor.get("class", ""))
    if not trust.allows(path):
        dotted = dotted_name(path)
        raise PermissionDenied(
            f"{label} is a custom (pyfunc) model: loading it imports {dotted} and builds it, "
            "which runs that module's code; load it with trusted=True, or "
            f"trusted=[{dotted!r}], only if you trust where it came from",
            field="trusted",
            untrusted=[dotted],
        )
    return path


def _bind(method: Any, context: PythonModelContext) -> Any:
    """``predict(model_input)``, or MLflow's ``predict(context, model_input)`` form."""
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return method
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 and positional[0].name == "context":
        return lambda data: method(context, data)
    return method
