"""XGBoost and LightGBM flavors: each library's own model file, never a pickle.

XGBoost's scikit-learn wrappers save their settings inside the UBJSON model file, so they come
back as the same class. LightGBM's wrappers do not, so a LightGBM estimator is stored as its
booster's text model plus the class labels, and loads as the booster with predict and
predict_proba that behave like the estimator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.registry._flavors import (
    Predictor,
    SaveOptions,
    Trust,
    class_name,
    import_class,
    methods_of,
    module_of,
)

XGB_FILE = "model.ubj"
LGB_FILE = "model.txt"


def _plain_list(values: Any) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


class XGBoostFlavor:
    """``xgboost.Booster`` and the scikit-learn wrappers (XGBClassifier, XGBRegressor...)."""

    name = "xgboost"

    def matches(self, model: Any) -> bool:
        return module_of(model).startswith("xgboost")

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        import xgboost

        model.save_model(str(folder / XGB_FILE))
        is_booster = isinstance(model, xgboost.Booster)
        return {
            "format": "ubj",
            "file": XGB_FILE,
            "class": class_name(model),
            "kind": "booster" if is_booster else "sklearn",
            "xgboost_version": xgboost.__version__,
            "methods": ["predict"] if is_booster else methods_of(model),
            "packages": ["xgboost", "numpy", "scipy", *(() if is_booster else ("scikit-learn",))],
        }

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        import xgboost

        path = str(folder / str(descriptor.get("file", XGB_FILE)))
        if descriptor.get("kind") == "booster":
            booster = xgboost.Booster()
            booster.load_model(path)
            return Predictor(booster, lambda data: booster.predict(xgboost.DMatrix(data)))
        cls = import_class(str(descriptor["class"]), base=xgboost.XGBModel, module_prefix="xgboost")
        model = cls()
        model.load_model(path)
        return Predictor(model, model.predict, getattr(model, "predict_proba", None))


class LightGBMFlavor:
    """``lightgbm.Booster`` and the scikit-learn wrappers (LGBMClassifier, LGBMRegressor...)."""

    name = "lightgbm"

    def matches(self, model: Any) -> bool:
        return module_of(model).startswith("lightgbm")

    def save(self, model: Any, folder: Path, options: SaveOptions) -> dict[str, Any]:
        import lightgbm

        is_booster = isinstance(model, lightgbm.Booster)
        booster = model if is_booster else getattr(model, "booster_", None)
        if booster is None:
            raise InvalidArgument("the LightGBM model is not fitted; fit it first", field="model")
        booster.save_model(str(folder / LGB_FILE))
        classes = getattr(model, "classes_", None)
        return {
            "format": "txt",
            "file": LGB_FILE,
            "class": class_name(model),
            "kind": "booster"
            if is_booster
            else ("classifier" if classes is not None else "regressor"),
            "classes": None if classes is None else _plain_list(classes),
            "lightgbm_version": lightgbm.__version__,
            "methods": ["predict"]
            if is_booster
            else methods_of(model, ("predict", "predict_proba")),
            "packages": ["lightgbm", "numpy", "scipy"],
        }

    def load(
        self, folder: Path, descriptor: Mapping[str, Any], trust: Trust, label: str
    ) -> Predictor:
        import lightgbm

        booster = lightgbm.Booster(model_file=str(folder / str(descriptor.get("file", LGB_FILE))))
        if descriptor.get("kind") != "classifier":
            return Predictor(booster, booster.predict)
        classes = np.asarray(descriptor.get("classes") or [0, 1])

        def predict_proba(data: Any) -> Any:
            raw = np.asarray(booster.predict(data))
            return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

        def predict(data: Any) -> Any:
            return classes[np.argmax(predict_proba(data), axis=1)]

        return Predictor(booster, predict, predict_proba)
