"""Classifiers serve their probabilities: on request (``/predict?proba=true``, V2
``parameters.proba`` or a requested ``proba`` output) or always (the ``proba`` option), with
the class labels; they are logged, and monitoring turns them into AUC, calibration and
estimates before labels arrive. The API document describes every route."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import shipyard
from shipyard import monitoring
from shipyard.errors import InvalidArgument
from shipyard.serving import PROBA, ServingConfig, log_labels, read_predictions


def test_predict_answers_with_probabilities_when_asked(
    http: httpx.Client, served_model: Any, fitted: Any
) -> None:
    X, _ = served_model
    records = X.head(3).to_dict(orient="records")
    plain = http.post("/predict", json=records).json()
    assert "probabilities" not in plain and "classes" not in plain
    asked = http.post("/predict", params={"proba": "true"}, json=records).json()
    assert asked["classes"] == [0, 1]
    expected = fitted().predict_proba(X.head(3))
    np.testing.assert_allclose(asked["probabilities"], expected, rtol=1e-6)
    assert asked["predictions"] == plain["predictions"]
    bad = http.post("/predict", params={"proba": "maybe"}, json=records)
    assert bad.status_code == 422 and bad.json()["field"] == "proba"


def test_v2_returns_a_proba_tensor_named_with_its_classes(
    http: httpx.Client, served_model: Any, v2_body: Any, fitted: Any
) -> None:
    X, _ = served_model
    body = v2_body(X.head(2))
    plain = http.post("/v2/models/churn/infer", json=body).json()
    assert [o["name"] for o in plain["outputs"]] == ["predict"]
    for ask in ({"parameters": {"proba": True}}, {"outputs": [{"name": "proba"}]}):
        answer = http.post("/v2/models/churn/infer", json={**body, **ask}).json()
        labels, proba = answer["outputs"]
        assert (labels["name"], proba["name"]) == ("predict", "proba")
        assert proba["shape"] == [2, 2] and answer["parameters"]["classes"] == [0, 1]
        expected = fitted().predict_proba(X.head(2)).ravel()
        np.testing.assert_allclose(proba["data"], expected, rtol=1e-6)
    meta = http.get("/v2/models/churn").json()
    assert meta["outputs"][1] == {
        "name": "proba",
        "datatype": "FP64",
        "shape": [-1, 2],
        "parameters": {"classes": [0, 1]},
    }
    bad = http.post("/v2/models/churn/infer", json={**body, "parameters": {"proba": "maybe"}})
    assert bad.status_code == 422 and bad.json()["field"] == "parameters.proba"


def test_a_model_without_probabilities_refuses_a_request_for_them(
    sqlite_sdk: Any, cancer: Any, start: Any
) -> None:
    X, y = cancer()
    version = shipyard.register_model(LinearRegression().fit(X, y), "price", input_example=X.head())
    shipyard.set_alias("price", "champion", version.version)
    with start("price@champion") as server, httpx.Client(base_url=server.url) as http:
        records = X.head(2).to_dict(orient="records")
        assert len(http.post("/predict", json=records).json()["predictions"]) == 2
        refused = http.post("/predict", params={"proba": "1"}, json=records)
        assert refused.status_code == 422 and refused.json()["field"] == "proba"
        assert "no class probabilities" in refused.json()["error"]


def test_probabilities_are_logged_and_monitored_before_and_after_labels(
    served_model: Any, start: Any, fitted: Any
) -> None:
    X, y = served_model
    ids = []
    with start() as server, httpx.Client(base_url=server.url) as http:
        for first in range(0, 300, 30):
            rows = X.iloc[first : first + 30].to_dict(orient="records")
            ids.append(http.post("/predict", json=rows).json()["prediction_id"])
    logged = read_predictions("churn")
    assert len(logged) == 300 and logged[PROBA].notna().all()
    np.testing.assert_allclose(
        np.stack(logged.sort_values(["ts", "row"])[PROBA].to_list()),
        fitted().predict_proba(X.head(300)),
        rtol=1e-6,
    )
    before = monitoring.performance("churn", window="1d").latest()
    assert before["estimated_auc"] > 0.9 and "auc" not in before
    labels = y.iloc[:300].tolist()
    log_labels([i for i in ids for _ in range(30)], labels, rows=list(range(30)) * 10)
    after = monitoring.performance("churn", window="1d").latest()
    assert after["auc"] > 0.9 and 0 <= after["calibration_error"] < 0.2
    assert after["accuracy"] > 0.9  # the served labels, not a threshold of the scores


def test_the_proba_option_answers_always_or_never_computes(served_model: Any, start: Any) -> None:
    X, _ = served_model
    records = X.head(1).to_dict(orient="records")
    with start(proba="always") as server:
        assert "probabilities" in httpx.post(f"{server.url}/predict", json=records).json()
    with start(proba="off") as server:
        refused = httpx.post(f"{server.url}/predict?proba=true", json=records)
        assert refused.status_code == 422
    with pytest.raises(InvalidArgument) as caught:
        ServingConfig(proba="sometimes")
    assert caught.value.field == "proba"


def test_the_model_server_documents_its_api(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/V2InferenceRequest"
    }
    assert "V2InferenceRequest" in spec["components"]["schemas"]
    assert {"/predict", "/v2/health/ready", "/readyz", "/metrics"} <= set(spec["paths"])
    assert spec["paths"]["/predict"]["post"]["parameters"][0]["name"] == "proba"
    page = http.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
