"""Every flavor saves in its safe format and loads back behind one interface: XGBoost and
LightGBM native files, ONNX through onnxruntime, and custom ``pyfunc`` models (pickle only
with the trust flag)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import shipyard
from shipyard.config import Settings
from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.registry import PythonModel, PythonModelContext
from shipyard.tracking import Client, _fluent

DATA = load_breast_cancer(as_frame=True)
X: pd.DataFrame = DATA.data.iloc[:, :6]
y = DATA.target


@pytest.fixture
def local(sqlite_settings: Settings) -> Iterator[Client]:
    client = _fluent.configure(sqlite_settings)
    yield client
    client.close()
    _fluent._default = None


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_xgboost_models_use_the_native_file(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    descriptor = shipyard.save_model(model, tmp_path / "m", input_example=X.head())
    assert _files(tmp_path / "m") == {"model.ubj", "shipyard-model.json"}
    assert descriptor["flavor"] == "xgboost" and descriptor["format"] == "ubj"
    # the distribution that provides the module here: xgboost, or its CPU-only build
    assert any(r.startswith(("xgboost==", "xgboost-cpu==")) for r in descriptor["requirements"])
    loaded = shipyard.models.load(tmp_path / "m")
    assert type(loaded.model) is xgboost.XGBClassifier
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))

    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, label=y), num_boost_round=3)
    shipyard.save_model(booster, tmp_path / "b")
    again = shipyard.models.load(tmp_path / "b")
    np.testing.assert_allclose(again.predict(X), booster.predict(xgboost.DMatrix(X)))
    assert not hasattr(again, "predict_proba")


def test_lightgbm_models_use_the_text_file(tmp_path: Path) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    labels = np.where(y == 1, "benign", "malignant")
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, labels)
    shipyard.save_model(model, tmp_path / "c")
    assert _files(tmp_path / "c") == {"model.txt", "shipyard-model.json"}
    loaded = shipyard.models.load(tmp_path / "c")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))

    regressor = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y.astype(float))
    shipyard.save_model(regressor, tmp_path / "r")
    np.testing.assert_allclose(
        shipyard.models.load(tmp_path / "r").predict(X), regressor.predict(X)
    )


def test_onnx_models_run_in_onnxruntime(tmp_path: Path) -> None:
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    sk = LogisticRegression(max_iter=2000).fit(X, y)
    onx = skl2onnx.convert_sklearn(
        sk, initial_types=[("input", FloatTensorType([None, X.shape[1]]))], target_opset=15
    )
    descriptor = shipyard.save_model(onx, tmp_path / "o", input_example=X.head())
    assert descriptor["flavor"] == "onnx" and _files(tmp_path / "o") == {
        "model.onnx",
        "shipyard-model.json",
    }
    loaded = shipyard.models.load(tmp_path / "o")
    assert (loaded.predict(X) == sk.predict(X)).mean() > 0.99
    np.testing.assert_allclose(loaded.predict_proba(X), sk.predict_proba(X), atol=1e-4)


# ---------------------------------------------------------------------------- pyfunc


class Threshold(PythonModel):
    """An importable custom model: its config and an artifact file define it."""

    def __init__(self, column: str, cutoff: float = 0.0) -> None:
        self.column = column
        self.cutoff = cutoff
        self.scale = 1.0

    def load_context(self, context: PythonModelContext) -> None:
        self.scale = json.loads(Path(context.artifacts["scale"]).read_text())["scale"]

    def predict(self, model_input: pd.DataFrame) -> Any:
        return (model_input[self.column] * self.scale > self.cutoff).astype(int).to_numpy()


class MlflowStyle:
    """MLflow's PythonModel form: predict(context, model_input)."""

    def predict(self, context: Any, model_input: Any) -> Any:
        return np.zeros(len(model_input))


def test_an_importable_custom_model_is_stored_without_code(local: Client, tmp_path: Path) -> None:
    (tmp_path / "scale.json").write_text('{"scale": 2.0}')
    model = Threshold("mean radius", cutoff=30.0)
    mv = shipyard.register_model(
        model,
        "threshold",
        config={"column": "mean radius", "cutoff": 30.0},
        artifacts={"scale": tmp_path / "scale.json"},
        input_example=X.head(),
    )
    assert mv.flavor == "pyfunc" and mv.metadata["format"] == "pyfunc"
    assert mv.metadata["class"] == f"{__name__}:Threshold"
    assert {f.path for f in mv.files} == {"shipyard-model.json", "artifacts/scale/scale.json"}
    loaded = shipyard.models.load("threshold/1", trusted=[f"{__name__}.Threshold"])
    assert isinstance(loaded.model, Threshold) and loaded.model.scale == 2.0
    expected = (X["mean radius"] * 2.0 > 30.0).astype(int).to_numpy()
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert not hasattr(loaded, "predict_proba")
    again = shipyard.models.load("threshold/1", trusted=[f"{__name__}:Threshold"])
    np.testing.assert_array_equal(again.predict(X), expected)

    shipyard.save_model(MlflowStyle(), tmp_path / "ml")
    assert shipyard.models.load(tmp_path / "ml", trusted=True).predict(X).shape == (len(X),)


def test_a_custom_model_imports_its_class_only_when_trusted(
    local: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The descriptor names the class to import; importing runs the module, so a descriptor
    someone edited to name their own module must not be imported without trust."""
    marker = tmp_path / "imported.marker"
    (tmp_path / "sidecar_module.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "class Model:\n    def __init__(self, column):\n        self.column = column\n"
        "    def predict(self, model_input):\n        return model_input\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    shipyard.save_model(Threshold("mean radius"), tmp_path / "m", config={"column": "x"})
    descriptor_path = tmp_path / "m" / "shipyard-model.json"
    descriptor = json.loads(descriptor_path.read_text())
    descriptor["class"] = "sidecar_module:Model"
    descriptor_path.write_text(json.dumps(descriptor))

    with pytest.raises(PermissionDenied, match=r"imports sidecar_module\.Model") as caught:
        shipyard.models.load(tmp_path / "m")
    assert caught.value.field == "trusted"
    assert caught.value.details["untrusted"] == ["sidecar_module.Model"]
    assert "trusted=True" in caught.value.message
    with pytest.raises(PermissionDenied):
        shipyard.models.load(tmp_path / "m", trusted=[f"{__name__}.Threshold"])
    assert not marker.exists() and "sidecar_module" not in sys.modules

    loaded = shipyard.models.load(tmp_path / "m", trusted=["sidecar_module.Model"])
    assert marker.read_text() == "ran" and loaded.predict(X.head(2)).shape == (2, 6)
    sys.modules.pop("sidecar_module")


def test_a_boosting_descriptor_cannot_name_a_module_outside_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xgboost = pytest.importorskip("xgboost")
    marker = tmp_path / "imported.marker"
    (tmp_path / "xgboost_sidecar.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = xgboost.XGBClassifier(n_estimators=2, max_depth=2).fit(X, y)
    shipyard.save_model(model, tmp_path / "m")
    descriptor_path = tmp_path / "m" / "shipyard-model.json"
    descriptor = json.loads(descriptor_path.read_text())
    descriptor["class"] = "xgboost_sidecar:XGBClassifier"
    descriptor_path.write_text(json.dumps(descriptor))
    with pytest.raises(IntegrityError, match="outside 'xgboost'"):
        shipyard.models.load(tmp_path / "m")
    assert not marker.exists()


def test_a_skops_descriptor_over_a_file_that_is_not_skops_names_the_file(
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression

    shipyard.save_model(LogisticRegression(max_iter=500).fit(X, y), tmp_path / "m")
    descriptor_path = tmp_path / "m" / "shipyard-model.json"
    descriptor = json.loads(descriptor_path.read_text())
    descriptor.update(format="skops", file="model.skops")
    descriptor_path.write_text(json.dumps(descriptor))
    (tmp_path / "m" / "model.skops").write_bytes(b"this is not a zip archive")
    with pytest.raises(IntegrityError, match=r"model\.skops is not a readable skops file") as got:
        shipyard.models.load(tmp_path / "m")
    assert got.value.field == "file" and got.value.details["file"] == "model.skops"


def test_a_model_defined_in_place_needs_trust_on_both_sides(local: Client) -> None:
    class Local:
        def predict(self, model_input: Any) -> Any:
            return np.ones(len(model_input))

    with pytest.raises(InvalidArgument, match="cannot be imported by its module path"):
        shipyard.register_model(Local(), "local")
    assert shipyard.models.list_models() == []
    mv = shipyard.register_model(Local(), "local", trusted=True)
    assert mv.metadata["format"] == "pickle"
    with pytest.raises(PermissionDenied, match="local/1 is stored as a pickle"):
        shipyard.models.load("local/1")
    assert shipyard.models.load("local/1", trusted=True).predict(X).sum() == len(X)


def test_bad_custom_model_inputs(local: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="config must be JSON-serializable"):
        shipyard.save_model(Threshold("a"), tmp_path / "x", config={"column": object()})
    with pytest.raises(InvalidArgument, match="no such file or folder"):
        shipyard.save_model(Threshold("a"), tmp_path / "y", artifacts={"w": tmp_path / "none"})
    with pytest.raises(InvalidArgument, match="unknown model flavor 'tensorflow'"):
        shipyard.save_model(Threshold("a"), tmp_path / "z", flavor="tensorflow")
    shipyard.save_model(Threshold("a"), tmp_path / "w")  # no config: Threshold() needs a column
    with pytest.raises(InvalidArgument, match=r"cannot build .* from its config"):
        shipyard.models.load(tmp_path / "w", trusted=True)
