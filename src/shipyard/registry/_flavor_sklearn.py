"""The scikit-learn flavor: the safe state format by default, skops files read too, pickle only
with ``trusted=True`` when the safe format cannot hold the model."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.registry import _safe_state
from shipyard.registry._flavors import (
    PICKLE_FILE,
    Predictor,
    SaveOptions,
    Trust,
    class_name,
    dump_pickle,
    load_pickle,
    methods_of,
)
from shipyard.registry._requirements import distributions_for_modules

STATE_FILE = "model.state"
PACKAGES = ["scikit-learn", "numpy", "scipy"]


class SklearnFlavor:
    """scikit-learn estimators and pipelines (and estimators following its API)."""

    name = "sklearn"

    def matches(self, model: Any) -> bool:
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        import sklearn

        descriptor: dict[str, Any] = {
            "class": class_name(model),
            "sklearn_version": sklearn.__version__,
            "methods": methods_of(model),
        }
        try:
            untrusted = _safe_state.dump(model, folder / STATE_FILE)
        except InvalidArgument:
            if not options.trust.everything:
                raise
            (folder / STATE_FILE).unlink(missing_ok=True)
            extra = dump_pickle(model, folder / PICKLE_FILE)
            return {
                **descriptor,
                "format": "pickle",
                "file": PICKLE_FILE,
                "packages": [*PACKAGES, *extra],
            }
        return {
            **descriptor,
            "format": _safe_state.FORMAT,
            "file": STATE_FILE,
            "untrusted_types": untrusted,
            "packages": [*PACKAGES, *distributions_for_modules(untrusted)],
        }

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        path = folder / str(descriptor.get("file", STATE_FILE))
        fmt = descriptor.get("format", _safe_state.FORMAT)
        if fmt == _safe_state.FORMAT:
            trusted = trust.names
            if trust.everything:
                trusted = frozenset(_safe_state.untrusted_types(path)) | trusted
            try:
                model = _safe_state.load(path, trusted)
            except PermissionDenied as exc:
                raise PermissionDenied(f"{label}: {exc.message}", **_fields(exc)) from None
        elif fmt == "skops":
            model = _load_skops(path, trust, label)
        elif fmt == "pickle":
            model = load_pickle(path, trust, label)
        else:
            raise InvalidArgument(f"{label} has an unknown scikit-learn format {fmt!r}")
        return predictor_for(model)


def _fields(exc: PermissionDenied) -> dict[str, Any]:
    return {"field": exc.field, **exc.details}


def predictor_for(model: Any) -> Predictor:
    """predict (or transform, for a transformer) and predict_proba of an estimator."""
    predict = getattr(model, "predict", None) or getattr(model, "transform", None)
    if predict is None:
        raise InvalidArgument(f"a {class_name(model)} has neither predict nor transform")
    return Predictor(model, predict, getattr(model, "predict_proba", None))


def _load_skops(path: Path, trust: Trust, label: str) -> Any:
    """A skops file, refusing types outside the allow-list unless trusted."""
    import skops.io

    try:
        found = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise IntegrityError(
            f"{label}: its file {path.name} is not a readable skops file ({exc}); the file is "
            "damaged or the model descriptor names the wrong format",
            field="file",
            file=path.name,
        ) from None
    refused = [
        name
        for name in found
        if name not in trust.names
        and not _safe_state.is_trusted_by_default(_as_ref(name), "class")
        and not _safe_state.is_trusted_by_default(_as_ref(name), "type")
        and not _safe_state.is_trusted_by_default(_as_ref(name), "function")
    ]
    if refused and not trust.everything:
        raise PermissionDenied(
            f"{label} references {len(refused)} type(s) Shipyard does not trust by default: "
            f"{', '.join(refused)}; if you trust their source, pass trusted={refused!r}",
            field="trusted",
            untrusted=refused,
        )
    return skops.io.load(path, trusted=found)


def _as_ref(dotted: str) -> str:
    """``a.b.C`` -> ``a.b:C`` (the module part is everything before the last dot)."""
    module, _, name = dotted.rpartition(".")
    return f"{module}:{name}"
