"""The model server's protocol: V2 (JSON and binary, with the real Triton client), /predict,
and every kind of bad input answered with a 4xx naming the field."""

from __future__ import annotations

import gzip
import struct
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest

from shipyard.serving._codec import decode_request, encode_response


def test_health_and_metadata(http: httpx.Client) -> None:
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").status_code == 200
    meta = http.get("/v2").json()
    assert meta["name"] == "shipyard" and "binary_tensor_data" in meta["extensions"]
    model = http.get("/v2/models/churn").json()
    assert model["name"] == "churn" and model["versions"] == ["1"]
    assert model["inputs"][0] == {"name": "mean radius", "datatype": "FP64", "shape": [-1, 1]}
    assert http.get("/v2/models/churn/ready").json()["ready"] is True
    assert http.get("/v2/models/churn/versions/1/ready").status_code == 200


def test_v2_json_per_column_and_matrix(v2_body: Any, http: httpx.Client, served_model: Any) -> None:
    X, _ = served_model
    from shipyard.models import load

    expected = load("churn@champion").predict(X.head(4)).tolist()
    answer = http.post("/v2/models/churn/infer", json={**v2_body(X.head(4)), "id": "req-7"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == "req-7" and body["model_version"] == "1"
    assert body["outputs"][0]["data"] == expected and body["outputs"][0]["shape"] == [4]
    assert len(body["parameters"]["prediction_id"]) == 32
    matrix = {
        "inputs": [
            {
                "name": "x",
                "datatype": "FP32",
                "shape": [4, 30],
                "data": X.head(4).to_numpy().tolist(),  # nested lists are fine too
            }
        ]
    }
    versioned = http.post("/v2/models/churn/versions/1/infer", json=matrix)
    assert versioned.json()["outputs"][0]["data"] == expected


def test_triton_client_binary_and_json(server: Any, served_model: Any) -> None:
    """The real Triton HTTP client works unchanged (binary tensors by default, and JSON)."""
    # imported here, not at collection: it brings gevent, which must not run during collection
    tritonclient_http = pytest.importorskip("tritonclient.http")
    X, _ = served_model
    from shipyard.models import load

    expected = load("churn@champion").predict(X.head(5))
    client = tritonclient_http.InferenceServerClient(server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("churn")
    assert client.get_model_metadata("churn")["name"] == "churn"
    for binary in (True, False):
        tensor = tritonclient_http.InferInput("x", [5, 30], "FP64")
        tensor.set_data_from_numpy(X.head(5).to_numpy(), binary_data=binary)
        outputs = [tritonclient_http.InferRequestedOutput("predict", binary_data=binary)]
        result = client.infer("churn", [tensor], outputs=outputs)
        np.testing.assert_array_equal(result.as_numpy("predict"), expected)
    per_column = []
    for column in X.columns:
        tensor = tritonclient_http.InferInput(column, [5], "FP64")
        tensor.set_data_from_numpy(X[column].head(5).to_numpy())
        per_column.append(tensor)
    result = client.infer("churn", per_column)  # no outputs named: binary outputs
    np.testing.assert_array_equal(result.as_numpy("predict"), expected)
    with pytest.raises(tritonclient_http.InferenceServerException, match="not served"):
        client.infer("nope", per_column)
    client.close()


def test_binary_bytes_round_trip() -> None:
    strings = ["a", "héllo", ""]
    raw = b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in strings)
    numbers = np.arange(6, dtype="<i4").tobytes()
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "s",
                    "datatype": "BYTES",
                    "shape": [3],
                    "parameters": {"binary_data_size": len(raw)},
                },
                {
                    "name": "n",
                    "datatype": "INT32",
                    "shape": [3, 2],
                    "parameters": {"binary_data_size": 24},
                },
            ],
            "parameters": {"binary_data_output": True},
        }
    )
    request = decode_request(header + raw + numbers, str(len(header)))
    assert request.inputs[0].array.tolist() == strings
    assert request.inputs[1].array.tolist() == [[0, 1], [2, 3], [4, 5]]
    body, length = encode_response(
        request, "m", "1", [("s", request.inputs[0].array), ("n", request.inputs[1].array)], {}
    )
    assert length is not None
    doc = orjson.loads(body[:length])
    assert [o["parameters"]["binary_data_size"] for o in doc["outputs"]] == [len(raw), 24]
    assert body[length:] == raw + numbers


def test_predict_records_and_columns(http: httpx.Client, served_model: Any) -> None:
    X, _ = served_model
    from shipyard.models import load

    expected = load("churn@champion").predict(X.head(3)).tolist()
    shapes = [
        X.head(3).to_dict(orient="records"),
        {c: X[c].head(3).tolist() for c in X.columns},
        {"columns": list(X.columns), "data": X.head(3).to_numpy().tolist()},
        {"dataframe_split": {"columns": list(X.columns), "data": X.head(3).to_numpy().tolist()}},
        X.head(3).to_numpy().tolist(),
    ]
    for body in shapes:
        answer = http.post("/predict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected
        assert answer.headers["x-prediction-id"] == answer.json()["prediction_id"]
    zipped = http.post(
        "/predict",
        content=gzip.compress(orjson.dumps(shapes[0])),
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )
    assert zipped.json()["predictions"] == expected


def _v2(v2_body: Any, X: Any, **changes: Any) -> dict[str, Any]:
    body = v2_body(X.head(2))
    body["inputs"][0].update(changes)
    return body


def _ragged(v2_body: Any, X: Any) -> dict[str, Any]:
    body = v2_body(X.head(2))
    body["inputs"][1].update(shape=[1], data=[1.0])
    return body


def _duplicated(v2_body: Any, X: Any) -> dict[str, Any]:
    body = v2_body(X.head(2))
    body["inputs"].append(dict(body["inputs"][0]))
    return body


def _binary(v2_body: Any, X: Any, value: float) -> dict[str, Any]:
    """The first column as a binary FP64 tensor holding ``value`` (the rest as JSON)."""
    body = v2_body(X.head(2))
    raw = np.array([value, 1.0], dtype="<f8").tobytes()
    first = body["inputs"].pop(0)
    del first["data"]
    first["parameters"] = {"binary_data_size": len(raw)}
    header = orjson.dumps({"inputs": [first, *body["inputs"]]})
    return {
        "content": header + raw,
        "headers": {"Inference-Header-Content-Length": str(len(header))},
    }


INFER = "/v2/models/churn/infer"
JSON_HEADERS = {"content-type": "application/json"}
#: case -> (url, request keyword arguments given the data, expected status, field named)
BAD_INPUT: dict[str, tuple[str, Any, int, str | None]] = {
    "missing column": (
        INFER,
        lambda X, v2_body: {"json": v2_body(X.head(2).drop(columns=["mean radius"]))},
        422,
        "mean radius",
    ),
    "text in a number column": (
        INFER,
        lambda X, v2_body: {"json": _v2(v2_body, X, data=["a", "b"], datatype="BYTES")},
        422,
        "mean radius",
    ),
    "wrong datatype name": (
        INFER,
        lambda X, v2_body: {"json": _v2(v2_body, X, datatype="FLOAT64")},
        422,
        "mean radius",
    ),
    "shape/data mismatch": (
        INFER,
        lambda X, v2_body: {"json": _v2(v2_body, X, shape=[3])},
        422,
        "mean radius",
    ),
    "negative shape": (
        INFER,
        lambda X, v2_body: {"json": _v2(v2_body, X, shape=[-2])},
        422,
        "mean radius",
    ),
    "ragged columns": (
        INFER,
        lambda X, v2_body: {"json": _ragged(v2_body, X)},
        422,
        "mean texture",
    ),
    "matrix with wrong width": (
        INFER,
        lambda X, v2_body: {
            "json": {
                "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]
            }
        },
        422,
        "x",
    ),
    "integer out of range": (
        INFER,
        lambda X, v2_body: {"json": _v2(v2_body, X, datatype="INT16", data=[70000, 1])},
        422,
        "mean radius",
    ),
    "infinity in a binary tensor": (
        INFER,
        lambda X, v2_body: _binary(v2_body, X, np.inf),
        422,
        "mean radius",
    ),
    "duplicate input names": (
        INFER,
        lambda X, v2_body: {"json": _duplicated(v2_body, X)},
        422,
        "mean radius",
    ),
    "no inputs": (INFER, lambda X, v2_body: {"json": {"inputs": []}}, 422, "inputs"),
    "malformed json": (
        INFER,
        lambda X, v2_body: {"content": b'{"inputs": [', "headers": JSON_HEADERS},
        400,
        "body",
    ),
    "not an object": (INFER, lambda X, v2_body: {"json": [1, 2]}, 400, "body"),
    "bad binary header": (
        INFER,
        lambda X, v2_body: {"content": b"{}", "headers": {"Inference-Header-Content-Length": "99"}},
        422,
        "Inference-Header-Content-Length",
    ),
    "too large": (INFER, lambda X, v2_body: {"content": b" " * (17 * 2**20)}, 413, "body"),
    "missing values": (
        "/predict",
        lambda X, v2_body: {"json": [{**X.iloc[0].to_dict(), "mean radius": None}]},
        422,
        "mean radius",
    ),
    "/predict not a table": ("/predict", lambda X, v2_body: {"json": "hello"}, 422, "body"),
    "record missing a column": (
        "/predict",
        lambda X, v2_body: {"json": [X.iloc[0].drop("mean area").to_dict()]},
        422,
        "mean area",
    ),
    "text in a record": (
        "/predict",
        lambda X, v2_body: {"json": [{**X.iloc[0].to_dict(), "mean area": "big"}]},
        422,
        "mean area",
    ),
    "unknown model": (
        "/v2/models/nope/infer",
        lambda X, v2_body: {"json": v2_body(X.head(1))},
        404,
        None,
    ),
    "unknown version": (
        "/v2/models/churn/versions/9/infer",
        lambda X, v2_body: {"json": v2_body(X.head(1))},
        404,
        None,
    ),
}


def test_bad_input_is_a_4xx_naming_the_field(
    http: httpx.Client, served_model: Any, v2_body: Any
) -> None:
    """Every malformed or non-conforming request: a 4xx whose body names the field, and the
    server keeps answering."""
    X, _ = served_model
    for case, (url, make, status, field) in BAD_INPUT.items():
        answer = http.post(url, **make(X, v2_body))
        assert answer.status_code == status, (case, answer.text)
        doc = answer.json()
        assert doc["error"], case  # the V2 error body
        if field is not None:
            assert doc["field"] == field, (case, doc)
    assert http.get("/v2/health/ready").status_code == 200  # and the server is fine
    assert 'code="500"' not in http.get("/metrics").text


def test_metrics(http: httpx.Client, served_model: Any) -> None:
    X, _ = served_model
    for _ in range(3):
        http.post("/predict", json=X.head(2).to_dict(orient="records"))
    http.post("/predict", json=[{"nope": 1}])
    text = http.get("/metrics").text
    assert 'shipyard_serving_requests_total{code="200",route="/predict"} 3.0' in text
    assert 'shipyard_serving_requests_total{code="422",route="/predict"} 1.0' in text
    assert 'shipyard_serving_errors_total{code="422",error="schema_error",route="/predict"}' in text
    assert 'shipyard_serving_request_duration_seconds_count{route="/predict"} 4.0' in text
    assert 'shipyard_serving_batch_size_count{model="churn",version="1"}' in text
    assert 'shipyard_serving_prediction_value_count{model="churn",version="1"} 6.0' in text
    assert (
        'shipyard_serving_model_info{alias="champion",model="churn",role="primary",version="1"} 1.0'
        in text
    )
    assert "shipyard_serving_queue_depth" in text
    assert "shipyard_serving_prediction_log_shed_rows_total 0.0" in text


def test_fast_input_path_matches_the_signature_check(served_model: Any) -> None:
    """All-double signatures skip the generic frame: the result is exactly what
    Signature.enforce gives, and anything unusual gets enforce's own error."""
    from shipyard.errors import SchemaError
    from shipyard.models import load
    from shipyard.serving._inputs import InputPlan

    X, _ = served_model
    signature = load("churn@champion").signature
    plan = InputPlan(signature)
    records = X.head(3).to_dict(orient="records")
    records[1]["mean radius"] = 14  # an int among floats: cast like enforce casts it
    expected = signature.enforce(pd.DataFrame(records))
    fast = plan.from_json(records)
    pd.testing.assert_frame_equal(fast, expected)
    matrix = X.head(2).to_numpy()
    pd.testing.assert_frame_equal(
        plan._matrix(matrix), signature.enforce(pd.DataFrame(matrix, columns=X.columns))
    )
    reordered = [dict(reversed(list(r.items()))) for r in records]  # key order is free
    pd.testing.assert_frame_equal(plan.from_json(reordered), expected)
    with_nan = matrix.copy()
    with_nan[0, 3] = np.nan
    assert plan._matrix(with_nan) is None  # the general path raises, naming the column
    with pytest.raises(SchemaError) as err:
        plan.enforce(pd.DataFrame(with_nan, columns=X.columns))
    assert err.value.field == X.columns[3]
    flag = [{**records[0], "mean area": True}]  # not a float: enforce decides, as before
    pd.testing.assert_frame_equal(plan.from_json(flag), signature.enforce(pd.DataFrame(flag)))
    with pytest.raises(SchemaError) as err:
        plan.from_json([{**records[0], "mean area": None}])
    assert err.value.field == "mean area"
    with pytest.warns(UserWarning, match="dropping 1 column"):  # extra columns: enforce's path
        assert len(plan.from_json([{**records[0], "extra": 1.0}])) == 1
