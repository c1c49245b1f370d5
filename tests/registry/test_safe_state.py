"""The safe state format: scikit-learn models round-trip exactly, and a crafted file can name
nothing outside the allow-list, smuggle no object arrays and read no memory it does not own."""

from __future__ import annotations

import struct
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn import (
    calibration,
    cluster,
    compose,
    ensemble,
    linear_model,
    naive_bayes,
    neighbors,
    pipeline,
    preprocessing,
    svm,
)
from sklearn.datasets import load_breast_cancer

from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.registry import _safe_state as ss

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :8]


def _models() -> dict[str, Any]:
    mixed = X.assign(plan=np.where(X.iloc[:, 0] > 14, "gold", "basic"))
    mixed["cat"] = pd.Categorical(np.where(X.iloc[:, 1] > 19, "a", "b"))
    encode = compose.ColumnTransformer(
        [
            ("num", preprocessing.StandardScaler(), list(X.columns)),
            ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), ["plan", "cat"]),
        ]
    )
    return {
        "forest": (ensemble.RandomForestClassifier(20, random_state=0), X),
        "boosting": (ensemble.GradientBoostingClassifier(n_estimators=10), X),
        "hist": (ensemble.HistGradientBoostingClassifier(max_iter=10), X),
        "logreg": (pipeline.make_pipeline(preprocessing.StandardScaler(),
                                          linear_model.LogisticRegression()), X),
        "svc": (svm.SVC(probability=True, random_state=0), X),
        "knn": (neighbors.KNeighborsClassifier(algorithm="brute"), X),
        "calibrated": (calibration.CalibratedClassifierCV(naive_bayes.GaussianNB()), X),
        "ufunc": (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.log1p),
                                         linear_model.LogisticRegression()), X),
        "rng": (ensemble.ExtraTreesClassifier(5, random_state=np.random.RandomState(3)), X),
        "columns": (pipeline.make_pipeline(encode, linear_model.LogisticRegression()), mixed),
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(_models()))
def test_models_round_trip_with_identical_predictions(name: str, tmp_path: Path) -> None:
    model, data = _models()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data, y)
    assert ss.dump(model, tmp_path / "m.state") == []  # nothing to trust explicitly
    loaded = ss.load(tmp_path / "m.state")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(loaded.predict_proba(data), model.predict_proba(data))


def test_unfitted_clusterers_and_plain_containers_round_trip(tmp_path: Path) -> None:
    shared = [1, 2]
    value = {
        "tuple": (1, "a", None, 2.5, float("nan"), 10**30),
        "set": {1, 2},
        "bytes": b"\x00\x01",
        "shared": [shared, shared],
        "ordered": OrderedDict(b=1, a=2),
        "scalar": np.float32(1.5),
        "dtype": np.dtype("int16"),
        "type": float,
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
        "empty": np.empty((0, 3)),
        "objects": np.array(["x", None, 3], dtype=object),
        "slice": slice(1, 5, 2),
        "masked": np.ma.MaskedArray(np.array([1, "a", None], dtype=object), mask=[0, 1, 0]),
        "generator": np.random.default_rng(7),
        "model": cluster.KMeans(3),
    }
    ss.dump(value, tmp_path / "v.state")
    back = ss.load(tmp_path / "v.state")
    assert back["tuple"][:4] == (1, "a", None, 2.5) and np.isnan(back["tuple"][4])
    assert back["tuple"][5] == 10**30 and back["set"] == {1, 2} and back["bytes"] == b"\x00\x01"
    assert back["shared"][0] is back["shared"][1]  # identity is kept
    assert list(back["ordered"]) == ["b", "a"] and type(back["ordered"]) is OrderedDict
    assert back["scalar"] == np.float32(1.5) and back["scalar"].dtype == np.float32
    assert back["dtype"] == np.dtype("int16") and back["type"] is float
    assert back["structured"].dtype == value["structured"].dtype
    assert back["empty"].shape == (0, 3)
    assert back["objects"].tolist() == ["x", None, 3]
    assert back["slice"] == slice(1, 5, 2)
    assert back["masked"].mask.tolist() == [False, True, False] and back["masked"][0] == 1
    assert back["generator"].random() == np.random.default_rng(7).random()
    assert back["model"].get_params() == value["model"].get_params()


def test_what_cannot_be_saved_safely_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="only classes and functions importable by name"):
        ss.dump(preprocessing.FunctionTransformer(lambda a: a), tmp_path / "x.state")

    class Local:
        pass

    with pytest.raises(InvalidArgument, match=r"cannot be imported under that name|importable"):
        ss.dump(Local(), tmp_path / "y.state")


def test_kd_trees_store_unchecked_indices_so_they_need_trust(tmp_path: Path) -> None:
    model = neighbors.KNeighborsClassifier(algorithm="kd_tree").fit(X, y)
    assert ss.dump(model, tmp_path / "k.state") == ["sklearn.neighbors._kd_tree.KDTree"]
    with pytest.raises(PermissionDenied, match=r"sklearn\.neighbors\._kd_tree\.KDTree"):
        ss.load(tmp_path / "k.state")
    loaded = ss.load(tmp_path / "k.state", trusted=["sklearn.neighbors._kd_tree.KDTree"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ---------------------------------------------------------------------------- crafted files


def _tamper_tree(tree: Any, **changes: Any) -> None:
    """Rewrite a fitted tree's node array the way a crafted file could (sklearn accepts it)."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    for field, (index, value) in changes.items():
        if field == "max_depth":
            state["max_depth"] = value
        else:
            nodes[field][index] = value
    state["nodes"] = nodes
    tree.__setstate__(state)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"left_child": (0, 10**6)}, "points outside its tree"),
        ({"right_child": (2, 1)}, "points outside its tree"),  # backwards: a loop
        ({"feature": (0, 500)}, "splits on a feature it does not have"),
        ({"right_child": (0, -1)}, "exactly one child"),
        ({"max_depth": (0, 1)}, "deeper than it declares"),
    ],
)
def test_crafted_tree_indices_are_refused(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    _tamper_tree(model.tree_, **changes)
    ss.dump(model, tmp_path / "t.state")
    with pytest.raises(IntegrityError, match=message):
        ss.load(tmp_path / "t.state")


def test_crafted_ensembles_and_svms_are_refused(tmp_path: Path) -> None:
    forest = ensemble.RandomForestClassifier(3, random_state=0).fit(X, y)
    forest.n_features_in_ = 2  # its trees would read past a 2-column input
    ss.dump(forest, tmp_path / "f.state")
    with pytest.raises(IntegrityError, match="reads more features than the ensemble checks"):
        ss.load(tmp_path / "f.state")

    machine = svm.SVC().fit(X, y)
    machine._n_support = machine._n_support * 2
    ss.dump(machine, tmp_path / "s.state")
    with pytest.raises(IntegrityError, match="support-vector counts"):
        ss.load(tmp_path / "s.state")

    hist = ensemble.HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    hist._predictors[0][0].nodes["feature_idx"][0] = 99
    ss.dump(hist, tmp_path / "h.state")
    with pytest.raises(IntegrityError, match="splits on a feature it does not have"):
        ss.load(tmp_path / "h.state")


def _craft(path: Path, header: dict[str, Any], data: bytes = b"") -> Path:
    body = orjson.dumps({"format": ss.FORMAT, "version": 1, "arrays": [], "refs": {}, **header})
    start = len(ss.MAGIC) + 8 + len(body)
    path.write_bytes(
        ss.MAGIC + struct.pack("<Q", len(body)) + body + b"\0" * (-start % ss.ALIGN) + data
    )
    return path


def test_a_file_naming_an_unsafe_function_is_refused_before_anything_runs(tmp_path: Path) -> None:
    path = _craft(
        tmp_path / "evil.state",
        {"refs": {"os:system": "function"}, "root": {"F": "os:system"}},
    )
    assert ss.untrusted_types(path) == ["os.system"]
    with pytest.raises(PermissionDenied, match=r"os\.system"):
        ss.load(path)


@pytest.mark.parametrize(
    ("refs", "root", "error"),
    [
        ({"numpy:save": "function"}, {"F": "numpy:save"}, PermissionDenied),  # not a ufunc
        ({"numpy:load": "type"}, {"T": "numpy:load"}, IntegrityError),  # not a class
        ({}, {"O": "sklearn.svm:SVC"}, IntegrityError),  # used without being declared
        ({"sklearn.svm:SVC": "class"}, {"O": "sklearn.svm:SVC", "st": {"x": 1}}, IntegrityError),
        ({"sklearn.utils._testing:TempMemmap": "class"},
         {"O": "sklearn.utils._testing:TempMemmap"}, PermissionDenied),
        ({"builtins:eval": "type"}, {"T": "builtins:eval"}, PermissionDenied),
    ],
)  # fmt: skip
def test_crafted_references_are_refused(
    tmp_path: Path, refs: dict[str, str], root: Any, error: type[Exception]
) -> None:
    path = _craft(tmp_path / "c.state", {"refs": refs, "root": root})
    with pytest.raises(error):
        ss.load(path)


def test_an_object_dtype_for_raw_data_is_refused(tmp_path: Path) -> None:
    arrays = [{"dtype": "|O", "shape": [2], "offset": 0, "nbytes": 16}]
    path = _craft(tmp_path / "o.state", {"arrays": arrays, "root": {"a": 0}}, b"\0" * 16)
    with pytest.raises(IntegrityError, match="object dtype"):
        ss.load(path)


def test_an_array_reaching_past_the_data_is_refused(tmp_path: Path) -> None:
    arrays = [{"dtype": "<f8", "shape": [1000], "offset": 0, "nbytes": 8000}]
    path = _craft(tmp_path / "a.state", {"arrays": arrays, "root": {"a": 0}}, b"\0" * 64)
    with pytest.raises(IntegrityError, match="does not fit"):
        ss.load(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not ours", ss.MAGIC + b"\xff" * 8])
def test_garbage_files_are_integrity_errors(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "g.state").write_bytes(content)
    with pytest.raises(IntegrityError):
        ss.load(tmp_path / "g.state")
