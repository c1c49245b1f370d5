"""Shipyard's own loader (``shipyard.models.load``, ``shipyard serve``) reads versions that
MLflow's client logged, without MLflow installed: the scikit-learn flavor's skops files
under Shipyard's allow-list, its pickle and cloudpickle files only with ``trusted=True``; any
other flavor is an error naming it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import shipyard
from shipyard.client import LocalStore
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.serving import ServingConfig
from shipyard.serving._background import BackgroundServer
from tests.support.server import LiveServer

RunScenario = Callable[..., dict[str, Any]]


def _rows() -> pd.DataFrame:
    X, _ = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["a", "b", "c", "d"]
    return X.iloc[[0, 60, 120]]


@pytest.fixture(scope="module")
def mlflow_absent() -> None:
    assert importlib.util.find_spec("mlflow") is None, "MLflow must not be installed here"


def test_shipyard_loads_and_serves_mlflow_sklearn_versions(
    mlflow_absent: None,
    run_scenario: RunScenario,
    live_server: LiveServer,
    served_sqlite: LocalStore,
) -> None:
    result = run_scenario("formats", live_server.url)
    rows = _rows()
    assert result["predictions"] == [0, 1, 2]

    version = served_sqlite.get_model_version("iris-skops", 1)
    assert version.flavor == "mlflow" and version.metadata["format"] == "mlflow"
    skops = shipyard.models.load("iris-skops/1")  # a safe format: no trust flag needed
    assert skops.metadata.flavor == "mlflow"
    assert skops.metadata.run_id == result["run_id"]
    assert skops.predict(rows).tolist() == [0, 1, 2]
    assert skops.signature is not None
    assert [c.name for c in skops.signature.inputs.columns or ()] == ["a", "b", "c", "d"]

    for fmt in ("cloudpickle", "pickle"):
        with pytest.raises(PermissionDenied, match=f"stored with {fmt}.*trusted=True") as refused:
            shipyard.models.load(f"iris-{fmt}/1")
        assert refused.value.field == "trusted"
        trusted = shipyard.models.load(f"iris-{fmt}/1", trusted=True)
        assert trusted.predict(rows).tolist() == [0, 1, 2]

    with pytest.raises(InvalidArgument, match="flavor 'python_function'") as unsupported:
        shipyard.models.load("echo/1", trusted=True)
    assert unsupported.value.field == "flavor"

    config = ServingConfig(log_predictions=False, poll_seconds=0)
    with BackgroundServer("iris-skops/1", config).start() as server:
        answer = httpx.post(
            f"{server.url}/invocations",
            json={"dataframe_split": rows.to_dict("split")},
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [0, 1, 2]}


@pytest.mark.parametrize(
    ("mlmodel", "error", "field"),
    [
        ("flavors: [unclosed", "not a readable MLmodel file", "path"),
        ("just text", "names no MLflow flavor", "path"),
        (
            "flavors:\n  sklearn:\n    pickled_model: ../../outside.pkl\n"
            "    serialization_format: pickle\n",
            "'..'",
            "path",
        ),
        (
            "flavors:\n  sklearn:\n    pickled_model: model.pkl\n"
            "    serialization_format: joblib\n",
            "format 'joblib'",
            "serialization_format",
        ),
        ("flavors:\n  python_function: {}\n  keras: {}\n", "flavor 'keras'", "flavor"),
    ],
)
def test_a_broken_or_unsupported_mlmodel_is_a_clear_error(
    tmp_path: Path, mlmodel: str, error: str, field: str
) -> None:
    (tmp_path / "MLmodel").write_text(mlmodel)
    (tmp_path / "model.pkl").write_bytes(b"not read")
    with pytest.raises(InvalidArgument, match=error) as refused:
        shipyard.models.load(tmp_path, trusted=True)
    assert refused.value.field == field
