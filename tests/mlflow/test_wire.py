"""MLflow's API over plain HTTP: the request forms MLflow's client sends, and bad input
answered in MLflow's error format naming the field, with nothing of a refused batch kept."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from shipyard.client import LocalStore
from tests.support.server import LiveServer

API = "/api/2.0/mlflow"


@pytest.fixture
def mlflow_http(live_server: LiveServer, served_sqlite: LocalStore) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as http:
        yield http


def _run(http: httpx.Client) -> str:
    exp = http.post(f"{API}/experiments/create", json={"name": "wire"}).json()["experiment_id"]
    run = http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()
    return str(run["run"]["info"]["run_id"])


def test_log_batch_reads_every_form_of_a_metric_point(
    mlflow_http: httpx.Client, served_sqlite: LocalStore
) -> None:
    run_id = _run(mlflow_http)
    metrics = [
        {"key": "m", "value": 0.5, "timestamp": 10, "step": 0},  # as MLflow's client sends
        {"key": "m", "value": 2, "timestamp": 11, "step": 1},  # an integer value
        {"key": "m", "value": "NaN", "timestamp": "12", "step": "2"},  # protobuf-JSON strings
        {"key": "m", "value": "-Infinity"},  # no timestamp or step: 0
    ]
    answer = mlflow_http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert answer.status_code == 200, answer.text
    history = served_sqlite.get_metric_history(run_id, "m")
    got = sorted((p.step, p.timestamp, p.value) for p in history)
    assert got[0] == (0, 0, -math.inf)
    assert got[1] == (0, 10, 0.5)
    assert got[2] == (1, 11, 2.0)
    assert got[3][:2] == (2, 12) and math.isnan(got[3][2])


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"key": "m", "value": "high"}, "value"),
        ({"key": "m", "value": True}, "value"),
        ({"key": "m", "value": 1.0, "timestamp": -1}, "timestamp"),
        ({"key": "m", "value": 1.0, "step": 2**64}, "step"),
        ({"key": "", "value": 1.0}, "key"),
        ({"key": 5, "value": 1.0}, "key"),
    ],
)
def test_a_bad_metric_point_is_refused_naming_its_field_and_nothing_is_kept(
    mlflow_http: httpx.Client, served_sqlite: LocalStore, bad: dict[str, object], field: str
) -> None:
    run_id = _run(mlflow_http)
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}, bad]
    answer = mlflow_http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert field in body["message"]
    assert served_sqlite.get_metric_history(run_id, "m") == []


def test_unserved_paths_and_wrong_methods_answer_in_mlflows_format(
    mlflow_http: httpx.Client,
) -> None:
    missing = mlflow_http.get(f"{API}/traces/search")
    assert missing.status_code == 404 and missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong = mlflow_http.get(f"{API}/runs/log-metric")
    assert wrong.status_code == 404  # only the catch-all answers a GET there
    assert mlflow_http.get("/healthz").status_code == 200  # Shipyard's own routes still answer
