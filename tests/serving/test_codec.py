"""Property tests of the V2 codecs (JSON and binary tensors): any request decodes to exactly
the values sent or is refused with a 4xx naming the input; never a crash, never a value
wrapped around to fit its type; and through the model server never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shipyard.errors import ShipyardError
from shipyard.serving._codec import DTYPES, decode_request

NUMERIC = [name for name in DTYPES if name not in ("BYTES", "BOOL")]
INTEGER = [name for name in NUMERIC if not name.startswith("FP")]
#: JSON values of every kind a client may send, including integers no 64-bit type holds.
VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
)


def _decode(doc: dict[str, Any], binary: bytes = b"") -> Any:
    """decode_request on ``doc`` (and binary tensors after it): the request, or the Shipyard
    error it was refused with (anything else escapes and fails the test)."""
    header = json.dumps(doc).encode()
    try:
        return decode_request(header + binary, str(len(header)) if binary else None)
    except ShipyardError as exc:
        assert 400 <= exc.http_status < 500, exc
        return exc


@settings(max_examples=300, deadline=None)
@given(
    datatype=st.sampled_from(sorted(DTYPES)),
    data=st.lists(VALUES, max_size=6),
    shape=st.lists(st.integers(min_value=-1, max_value=6), min_size=0, max_size=3),
)
def test_json_tensors_decode_exactly_or_are_refused_naming_the_input(
    datatype: str, data: list[Any], shape: list[int]
) -> None:
    doc = {"inputs": [{"name": "x", "datatype": datatype, "shape": shape, "data": data}]}
    outcome = _decode(doc)
    if isinstance(outcome, ShipyardError):
        assert outcome.field == "x", outcome
        return
    array = outcome.inputs[0].array
    assert array.size == len(data) and array.dtype == DTYPES[datatype]
    if datatype in INTEGER:  # never wrapped: every value is the one sent
        assert [int(v) for v in array.ravel().tolist()] == [int(v) for v in data]


@settings(max_examples=200, deadline=None)
@given(datatype=st.sampled_from(INTEGER), value=st.integers(min_value=-(2**70), max_value=2**70))
def test_an_integer_outside_its_type_is_a_422_naming_the_input(datatype: str, value: int) -> None:
    doc = {"inputs": [{"name": "age", "datatype": datatype, "shape": [1], "data": [value]}]}
    limits = np.iinfo(DTYPES[datatype])
    outcome = _decode(doc)
    if limits.min <= value <= limits.max:
        assert int(outcome.inputs[0].array[0]) == value
    else:
        assert isinstance(outcome, ShipyardError) and outcome.http_status == 422
        assert outcome.field == "age" and "out of range" in outcome.message


@settings(max_examples=300, deadline=None)
@given(
    datatype=st.sampled_from(sorted(DTYPES)),
    count=st.integers(min_value=0, max_value=4),
    raw=st.binary(max_size=40),
)
def test_binary_tensors_decode_or_are_refused_naming_the_input(
    datatype: str, count: int, raw: bytes
) -> None:
    doc = {
        "inputs": [
            {
                "name": "x",
                "datatype": datatype,
                "shape": [count],
                "parameters": {"binary_data_size": len(raw)},
            }
        ]
    }
    outcome = _decode(doc, raw)
    if isinstance(outcome, ShipyardError):
        assert outcome.field == "x", outcome
        return
    array = outcome.inputs[0].array
    assert array.shape == (count,)
    if datatype.startswith("FP"):  # infinities are refused; NaN (a missing value) passes
        assert not np.isinf(array).any()


def test_infinity_and_duplicate_names_are_refused_naming_the_input() -> None:
    raw = np.array([1.0, -np.inf], dtype="<f4").tobytes()
    tensor = {"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}
    infinite = _decode({"inputs": [tensor]}, raw)
    assert isinstance(infinite, ShipyardError) and infinite.http_status == 422
    assert infinite.field == "x" and "infinite" in infinite.message
    same = {"name": "x", "datatype": "FP64", "shape": [1], "data": [1.0]}
    twice = _decode({"inputs": [same, {**same, "data": [2.0]}]})
    assert isinstance(twice, ShipyardError) and twice.http_status == 422
    assert twice.field == "x" and "another input has this name" in twice.message


@pytest.fixture
def columns(served_model: Any) -> list[str]:
    """The served model's input columns."""
    X, _ = served_model
    return list(X.columns)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    datatype=st.sampled_from(sorted(DTYPES)),
    values=st.lists(VALUES, min_size=1, max_size=3),
    raw=st.one_of(st.none(), st.binary(max_size=24)),
)
def test_the_server_answers_any_tensor_with_a_200_or_a_4xx(
    http: httpx.Client, columns: list[str], datatype: str, values: list[Any], raw: bytes | None
) -> None:
    """One column replaced by an arbitrary tensor (JSON or binary), the rest well formed."""
    inputs: list[dict[str, Any]] = [
        {"name": c, "datatype": "FP64", "shape": [1], "data": [1.0]} for c in columns[1:]
    ]
    first: dict[str, Any] = {"name": columns[0], "datatype": datatype, "shape": [1]}
    if raw is None:
        first["data"] = values[:1]
        content = json.dumps({"inputs": [first, *inputs]}).encode()
        headers = {"content-type": "application/json"}
    else:
        first["parameters"] = {"binary_data_size": len(raw)}
        header = json.dumps({"inputs": [first, *inputs]}).encode()
        content = header + raw
        headers = {"Inference-Header-Content-Length": str(len(header))}
    answer = http.post("/v2/models/churn/infer", content=content, headers=headers)
    assert answer.status_code == 200 or 400 <= answer.status_code < 500, answer.text
    if answer.status_code != 200:
        assert answer.json()["field"] == columns[0], answer.text
