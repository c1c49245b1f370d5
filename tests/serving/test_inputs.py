"""The per-column tensor fast path (one FP64 tensor per signature column, the layout the V2
model metadata advertises) gives exactly what the general path gives: the same checked frame,
or the same SchemaError naming the same field, whatever order, shapes, datatypes, NaN and
missing or extra columns a client sends, in JSON or as binary tensors."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from shipyard.errors import SchemaError
from shipyard.registry import infer_signature
from shipyard.serving._codec import decode_request
from shipyard.serving._inputs import InputPlan, _columns_frame
from tests.support.contract import examples

FUZZ = settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
COLUMNS = ["a", "b c", "d", "e"]
NULLABLE = {"d"}  # trained with a missing value: NaN is allowed there, nowhere else


def _plan() -> InputPlan:
    frame = pd.DataFrame({name: [1.0, 2.0] for name in COLUMNS})
    frame.loc[0, list(NULLABLE)] = np.nan
    return InputPlan(infer_signature(frame))


def _outcome(build: Any) -> Any:
    """The frame ``build()`` returns, or the field of the SchemaError it raises."""
    try:
        return build()
    except SchemaError as exc:
        return ("SchemaError", exc.field)


def _same(fast: Any, general: Any) -> None:
    if isinstance(general, pd.DataFrame):
        assert isinstance(fast, pd.DataFrame)
        pd.testing.assert_frame_equal(fast, general)
    else:
        assert fast == general


@st.composite
def _column_tensors(draw: Any) -> tuple[list[dict[str, Any]], bool]:
    """Per-column tensors as a client sends them: usually the signature's columns in any
    order, sometimes one missing, an extra one, another datatype, a ragged or 2-wide shape,
    NaN anywhere."""
    rows = draw(st.integers(0, 4))
    names = draw(st.permutations(COLUMNS))
    if draw(st.integers(0, 9)) == 0:
        names = names[1:]
    if draw(st.integers(0, 9)) == 0:
        names = [*names, "extra"]
    nan = draw(st.integers(0, 3)) == 0  # NaN in some requests, in any column
    values = st.floats(-1e6, 1e6, allow_nan=False)
    if nan:
        values = values | st.just(float("nan"))
    tensors = []
    for name in names:
        length = rows + (1 if draw(st.integers(0, 30)) == 0 else 0)
        width = draw(st.sampled_from([None, 1, 1, 1, 1, 1, 1, 2]))
        count = length * (width or 1)
        datatype = draw(st.sampled_from(["FP64"] * 20 + ["FP32", "INT64"]))
        data: list[Any] = draw(st.lists(values, min_size=count, max_size=count))
        if datatype == "INT64":
            data = [0 if v != v else int(v) for v in data]
        shape = [length] if width is None else [length, width]
        tensors.append({"name": name, "datatype": datatype, "shape": shape, "data": data})
    return tensors, draw(st.booleans())


def _body(tensors: list[dict[str, Any]], binary: bool) -> tuple[bytes, str | None]:
    """The request body: JSON tensors, or binary ones (always when NaN is sent: JSON has
    no NaN)."""
    has_nan = any(v != v for tensor in tensors for v in tensor["data"])
    if not (binary or has_nan):
        return json.dumps({"inputs": tensors}).encode(), None
    kinds = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8"}
    docs, chunks = [], []
    for tensor in tensors:
        raw = np.asarray(tensor["data"], dtype=kinds[tensor["datatype"]]).tobytes()
        doc = {k: v for k, v in tensor.items() if k != "data"}
        docs.append({**doc, "parameters": {"binary_data_size": len(raw)}})
        chunks.append(raw)
    header = json.dumps({"inputs": docs}).encode()
    return header + b"".join(chunks), str(len(header))


@FUZZ
@given(_column_tensors())
def test_per_column_tensors_check_exactly_like_the_general_path(
    case: tuple[list[dict[str, Any]], bool],
) -> None:
    plan = _plan()
    body, header = _body(*case)
    inputs = decode_request(body, header).inputs
    fast = _outcome(lambda: plan.from_tensors(inputs))
    general = _outcome(lambda: plan.enforce(_columns_frame(inputs)))
    _same(fast, general)


def test_per_column_fp64_tensors_become_the_checked_frame_in_signature_order() -> None:
    plan = _plan()
    sent = {"e": [4.0, 40.0], "a": [1.0, 10.0], "d": [float("nan"), 30.0], "b c": [2.0, 20.0]}
    tensors = [{"name": n, "datatype": "FP64", "shape": [2, 1], "data": v} for n, v in sent.items()]
    frame = plan.from_tensors(decode_request(*_body(tensors, binary=True)).inputs)
    assert list(frame.columns) == COLUMNS
    assert frame["a"].tolist() == [1.0, 10.0]
    assert np.isnan(frame["d"][0]) and frame["d"][1] == 30.0
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_per_column_nan_in_a_column_trained_without_one_names_that_column() -> None:
    plan = _plan()
    tensors = [{"name": n, "datatype": "FP64", "shape": [1], "data": [1.0]} for n in COLUMNS]
    tensors[0]["data"] = [float("nan")]
    with pytest.raises(SchemaError) as err:
        plan.from_tensors(decode_request(*_body(tensors, binary=True)).inputs)
    assert err.value.field == "a"


@st.composite
def _matrix_tensor(draw: Any) -> tuple[list[dict[str, Any]], bool]:
    """One [rows, columns] tensor as a client sends it: usually FP64 with the signature's
    width, sometimes FP32 or INT64, NaN anywhere, no rows at all."""
    rows = draw(st.integers(0, 5))
    datatype = draw(st.sampled_from(["FP64"] * 8 + ["FP32", "INT64"]))
    nan = draw(st.integers(0, 3)) == 0
    values = st.floats(-1e6, 1e6, allow_nan=False)
    if nan:
        values = values | st.just(float("nan"))
    data: list[Any] = draw(st.lists(values, min_size=rows * 4, max_size=rows * 4))
    if datatype == "INT64":
        data = [0 if v != v else int(v) for v in data]
    tensor = {"name": "input-0", "datatype": datatype, "shape": [rows, 4], "data": data}
    return [tensor], draw(st.booleans())


@FUZZ
@given(_matrix_tensor())
def test_a_single_tensor_checks_exactly_like_the_general_path(
    case: tuple[list[dict[str, Any]], bool],
) -> None:
    plan = _plan()
    body, header = _body(*case)
    (tensor,) = decode_request(body, header).inputs
    fast = _outcome(lambda: plan.from_tensors([tensor]))
    general = _outcome(lambda: plan.enforce(pd.DataFrame(tensor.array, columns=COLUMNS)))
    _same(fast, general)


def test_a_single_fp64_tensor_becomes_the_checked_frame_without_a_copy() -> None:
    plan = _plan()
    sent = [[1.0, 2.0, float("nan"), 4.0], [10.0, 20.0, 30.0, 40.0]]
    tensor = {"name": "input-0", "datatype": "FP64", "shape": [2, 4]}
    flat = [value for row in sent for value in row]
    (decoded,) = decode_request(*_body([{**tensor, "data": flat}], True)).inputs
    frame = plan.from_tensors([decoded])
    assert list(frame.columns) == COLUMNS and frame["b c"].tolist() == [2.0, 20.0]
    assert np.shares_memory(frame.to_numpy(), decoded.array)  # the tensor's own buffer
    wide = {**tensor, "shape": [1, 5], "data": [1.0] * 5}
    with pytest.raises(SchemaError) as err:
        plan.from_tensors(decode_request(*_body([wide], False)).inputs)
    assert err.value.field == "input-0" and "4 columns" in str(err.value)
    flat[0] = float("nan")  # a NaN where the model was trained without one
    nan = {**tensor, "data": flat}
    with pytest.raises(SchemaError) as err:
        plan.from_tensors(decode_request(*_body([nan], True)).inputs)
    assert err.value.field == "a"
