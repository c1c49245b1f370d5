"""Flavors: how each kind of model is written to a folder and read back.

A flavor saves a model object into a folder in its safest native format and returns the
descriptor entries that say how to read it; loading gives a :class:`Predictor` (the raw model
and its predict functions), which :class:`~shipyard.registry.LoadedModel` wraps with the
signature. Pickle is used only with an explicit trust flag, on saving and again on loading.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.registry._safe_state import dotted_name

PICKLE_FILE = "model.pkl"


@dataclass(frozen=True)
class Trust:
    """What the caller trusts: ``everything`` (``trusted=True``: pickle may load, any type may
    be built) or only the listed ``names`` (classes and functions, ``module.QualName``)."""

    everything: bool = False
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, trusted: bool | Collection[str] | None) -> Trust:
        if trusted is None or trusted is False:
            return cls()
        if trusted is True:
            return cls(everything=True)
        if isinstance(trusted, str) or not all(isinstance(n, str) for n in trusted):
            raise InvalidArgument(
                "trusted must be True/False or a list of class names such as "
                "['mypackage.MyTransformer']",
                field="trusted",
            )
        return cls(names=frozenset(trusted))

    def allows(self, path: str) -> bool:
        """Whether the class or function at ``path`` (``module:QualName`` or
        ``module.QualName``) is trusted: everything is, or it is listed."""
        return self.everything or dotted_name(path) in {dotted_name(n) for n in self.names}


@dataclass
class SaveOptions:
    """Flavor-specific inputs to saving: trust, and a custom model's config and artifacts."""

    trust: Trust = field(default_factory=Trust)
    config: Mapping[str, Any] | None = None
    artifacts: Mapping[str, str | Path] | None = None


@dataclass
class Predictor:
    """A loaded model: the raw object and the functions LoadedModel calls."""

    model: Any
    predict: Callable[[Any], Any]
    predict_proba: Callable[[Any], Any] | None = None


class Flavor(Protocol):
    """One kind of model."""

    name: str

    def matches(self, model: Any) -> bool: ...
    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]: ...
    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor: ...


def class_name(obj: Any) -> str:
    """``module.QualName`` of an object's class."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def module_of(obj: Any) -> str:
    return type(obj).__module__


def import_class(path: str, *, base: type | None = None, module_prefix: str = "") -> type:
    """The class at ``module:QualName`` (or ``module.QualName``), checked to be a class in
    package ``module_prefix`` (checked before anything is imported) and, with ``base``, a
    subclass of it."""
    module_name, sep, qualname = path.partition(":")
    if not sep:
        module_name, _, qualname = path.rpartition(".")
    if module_prefix and not (
        module_name == module_prefix or module_name.startswith(f"{module_prefix}.")
    ):
        raise IntegrityError(f"model descriptor names class {path!r} outside {module_prefix!r}")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(
            f"cannot import the model class {path!r} ({exc}); install the package that "
            "provides it (see `shipyard models requirements`)",
            field="model",
        ) from None
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise IntegrityError(f"{path!r} is not a model class")
    return obj


# --------------------------------------------------------------------------------------------
# pickle, behind the trust flag


def dump_pickle(obj: Any, path: Path) -> list[str]:
    """Pickle ``obj`` (with cloudpickle when installed, so local classes work); returns the
    extra distributions loading needs."""
    try:
        import cloudpickle
    except ImportError:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return []
    with open(path, "wb") as fh:
        cloudpickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return ["cloudpickle"]


def load_pickle(path: Path, trust: Trust, label: str) -> Any:
    """Unpickle, only with ``trusted=True``."""
    if not trust.everything:
        raise PermissionDenied(
            f"{label} is stored as a pickle, which can run arbitrary code when it is loaded; "
            "load it with trusted=True only if you trust where it came from",
            field="trusted",
        )
    with open(path, "rb") as fh:
        return pickle.load(fh)  # guarded by the explicit trust flag above


def methods_of(
    model: Any, names: Sequence[str] = ("predict", "predict_proba", "transform")
) -> list[str]:
    """The prediction methods a model object has."""
    return [n for n in names if callable(getattr(model, n, None))]


# --------------------------------------------------------------------------------------------
# the flavor table


def all_flavors() -> list[Flavor]:
    """Every flavor, most specific first (XGBoost models are scikit-learn estimators too)."""
    from shipyard.registry._flavor_boosting import LightGBMFlavor, XGBoostFlavor
    from shipyard.registry._flavor_onnx import OnnxFlavor
    from shipyard.registry._flavor_pyfunc import PyfuncFlavor
    from shipyard.registry._flavor_sklearn import SklearnFlavor
    from shipyard.registry._format_mlflow import MlflowFlavor

    return [
        XGBoostFlavor(),
        LightGBMFlavor(),
        OnnxFlavor(),
        SklearnFlavor(),
        PyfuncFlavor(),
        MlflowFlavor(),
    ]


def flavor_named(name: str) -> Flavor:
    for flavor in all_flavors():
        if flavor.name == name:
            return flavor
    known = ", ".join(f.name for f in all_flavors())
    raise InvalidArgument(f"unknown model flavor {name!r}; known flavors: {known}", field="flavor")


def flavor_for(model: Any) -> Flavor:
    """The flavor that saves ``model``, or InvalidArgument saying which kinds are supported."""
    for flavor in all_flavors():
        if flavor.matches(model):
            return flavor
    raise InvalidArgument(
        f"cannot register a {class_name(model)}: supported are scikit-learn estimators, "
        "XGBoost and LightGBM models, ONNX models, and Python objects with a predict method "
        "(flavor 'pyfunc'); or register a run's logged model with 'runs:/<run_id>/model'",
        field="model",
    )
