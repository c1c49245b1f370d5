"""Shipyard's model server answers MLflow's scoring protocol (``POST /invocations``) the same
as ``mlflow models serve`` does, for the same model and input."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving import ServingConfig
from shipyard.serving._background import BackgroundServer
from shipyard.tracking import Client

RunScenario = Callable[..., dict[str, Any]]


def _iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["a", "b", "c", "d"]
    return X, y


@pytest.fixture
def iris_server(sqlite_sdk: Client) -> Iterator[BackgroundServer]:
    """The iris logistic regression, registered and served by Shipyard."""
    X, y = _iris()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    version = shipyard.register_model(model, "iris", input_example=X.head())
    shipyard.set_alias("iris", "champion", version.version)
    config = ServingConfig(log_predictions=False, poll_seconds=0)
    with BackgroundServer("iris@champion", config).start() as server:
        yield server


def _bodies() -> dict[str, tuple[str, str]]:
    X, _ = _iris()
    rows = X.iloc[[0, 60, 120, 149]]
    shuffled = rows[["d", "b", "a", "c"]]
    records = rows.to_dict("records")
    return {
        "dataframe_split": (
            "application/json",
            json.dumps({"dataframe_split": rows.to_dict("split")}),
        ),
        "split_reordered": (
            "application/json",
            json.dumps({"dataframe_split": shuffled.to_dict("split")}),
        ),
        "dataframe_records": ("application/json", json.dumps({"dataframe_records": records})),
        "instances": ("application/json", json.dumps({"instances": records})),
        "inputs_columns": ("application/json", json.dumps({"inputs": rows.to_dict("list")})),
        "csv": ("text/csv", rows.to_csv(index=False)),
        "csv_charset": ("text/csv; charset=utf-8", rows.to_csv(index=False)),
    }


def test_invocations_answers_like_mlflow_models_serve(
    run_scenario: RunScenario, iris_server: BackgroundServer, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bodies = _bodies()
    answers = run_scenario(
        "scoring",
        "",
        shipyard=iris_server.url,
        model=str(tmp_path / "mlflow-model"),
        port=port,
        bodies=bodies,
    )
    assert set(answers) == set(bodies)
    for name, pair in answers.items():
        assert pair["shipyard"] == pair["mlflow"], name
        assert pair["mlflow"] == [200, {"predictions": [0, 1, 2, 2]}], name


BAD_REQUESTS = [
    ("application/json", "{}", "exactly one of"),
    ("application/json", '{"dataframe_records": [], "instances": []}', "exactly one of"),
    ("application/json", '{"dataframe_split": [1, 2]}', "dataframe_split must be"),
    ("application/json", '{"dataframe_records": {"a": 1}}', "dataframe_records must be"),
    ("application/json", '{"dataframe_records": [{"a": 1}]}', "b"),
    ("application/json", "[1, 2", "malformed JSON"),
    ("text/csv", "a,b\n1", ""),
    ("application/xml", "<a/>", "content type"),
]


def test_bad_scoring_requests_are_400s_in_mlflow_format(iris_server: BackgroundServer) -> None:
    for path in ("/ping", "/health"):  # the model is loaded
        assert httpx.get(iris_server.url + path).status_code == 200
    for content_type, body, words in BAD_REQUESTS:
        answer = httpx.post(
            iris_server.url + "/invocations", content=body, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 400, (body, answer.text)
        error = answer.json()
        assert error["error_code"] == "BAD_REQUEST" and words in error["message"], body
