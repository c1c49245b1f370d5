"""Signatures: inference from training data, and enforcement on predict (clear SchemaErrors
naming the column, safe casts only, extra columns dropped with a warning)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InvalidArgument, SchemaError
from shipyard.registry import Signature, infer_signature
from shipyard.registry._signature import example_from_json, example_to_json

TRAIN = pd.DataFrame(
    {
        "age": [31.0, 45.5, 22.0],
        "visits": np.array([3, 5, 1], dtype="int64"),
        "small": np.array([1, 2, 3], dtype="int32"),
        "ratio": np.array([0.5, 0.1, 0.2], dtype="float32"),
        "plan": ["basic", "gold", "basic"],
        "region": pd.Categorical(["eu", "us", "eu"]),
        "active": [True, False, True],
        "score": [1.0, None, 2.0],
        "joined": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
    }
)


@pytest.fixture(scope="module")
def signature() -> Signature:
    return infer_signature(TRAIN, np.array([0, 1, 0]), categorical=["plan"])


def test_inference_records_types_nullability_and_levels(signature: Signature) -> None:
    columns = {c.name: c for c in signature.inputs.columns or ()}
    assert {n: c.type for n, c in columns.items()} == {
        "age": "double", "visits": "long", "small": "integer", "ratio": "float",
        "plan": "string", "region": "category", "active": "boolean", "score": "double",
        "joined": "datetime",
    }  # fmt: skip
    assert columns["score"].nullable and not columns["age"].nullable
    assert columns["region"].levels == ("eu", "us")
    assert columns["plan"].levels == ("basic", "gold")  # declared categorical
    assert signature.outputs is not None and signature.outputs.tensor is not None
    assert signature.outputs.tensor.shape == (-1,)
    assert Signature.from_dict(signature.to_dict()) == signature  # JSON round trip
    assert "region: category [eu, us]" in str(signature)


def test_matching_data_passes_in_the_trained_column_order(signature: Signature) -> None:
    shuffled = TRAIN[list(reversed(TRAIN.columns))]
    checked = signature.enforce(shuffled)
    assert list(checked.columns) == list(TRAIN.columns)
    pd.testing.assert_frame_equal(checked, TRAIN)


def test_safe_casts_are_applied_and_the_input_is_not_changed(signature: Signature) -> None:
    data = TRAIN.assign(age=[31, 45, 22], ratio=[0.5, 0.1, 0.2], small=np.int8([1, 2, 3]))
    before = data.copy()
    checked = signature.enforce(data)
    assert checked["age"].dtype == np.float64 and checked["age"].tolist() == [31.0, 45.0, 22.0]
    assert checked["ratio"].dtype == np.float32 and checked["small"].dtype == np.int32
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"age": ["old", "young", "old"]}, "column 'age' has type .* expects double"),
        ({"visits": [1.5, 2.0, 3.0]}, "column 'visits' has type float64; the model expects long"),
        ({"active": [1, 0, 1]}, "column 'active' has type int64; the model expects boolean"),
        ({"plan": [1, 2, 3]}, "column 'plan' has type int64; the model expects string"),
        ({"plan": ["basic", "platinum", "basic"]}, "column 'plan' has unknown category 'platinum'"),
        ({"region": ["eu", "mars", "eu"]}, "column 'region' has unknown category 'mars'"),
        ({"age": [1.0, None, 2.0]}, "column 'age' has 1 missing value"),
        ({"small": np.int64([1, 2**40, 3])}, "column 'small' .* outside the int32 range"),
        ({"joined": ["2024-01-01"] * 3}, "column 'joined' has type .* expects datetime"),
    ],
)
def test_mismatches_name_the_column(
    signature: Signature, change: dict[str, object], message: str
) -> None:
    column = next(iter(change))
    with pytest.raises(SchemaError, match=message) as caught:
        signature.enforce(TRAIN.assign(**change))
    assert caught.value.field == column


def test_missing_and_extra_columns(signature: Signature) -> None:
    with pytest.raises(SchemaError, match="missing column 'age' \\(and 1 more: plan\\)"):
        signature.enforce(TRAIN.drop(columns=["plan", "age"]))
    with pytest.warns(UserWarning, match="dropping 2 column\\(s\\) the model does not use: x, y"):
        checked = signature.enforce(TRAIN.assign(x=1, y=2))
    assert list(checked.columns) == list(TRAIN.columns)


def test_other_input_forms(signature: Signature) -> None:
    records = TRAIN.to_dict(orient="records")
    assert list(signature.enforce(records).columns) == list(TRAIN.columns)
    columns = {k: list(v) for k, v in TRAIN.to_dict(orient="list").items()}
    assert len(signature.enforce(columns)) == 3
    with pytest.raises(SchemaError, match="takes a table with columns age, visits"):
        signature.enforce(np.zeros((2, 3)))


def test_tensor_signatures() -> None:
    signature = infer_signature(np.zeros((10, 4), dtype=np.float64))
    assert signature.inputs.tensor is not None and signature.inputs.tensor.shape == (-1, 4)
    assert signature.enforce(np.ones((2, 4), dtype=np.int64)).dtype == np.float64
    with pytest.raises(SchemaError, match="shape \\(2, 3\\)"):
        signature.enforce(np.ones((2, 3)))
    with pytest.raises(SchemaError, match="dtype <U1"):
        signature.enforce(np.full((2, 4), "a"))
    frame = pd.DataFrame(np.ones((2, 4)))
    assert signature.enforce(frame).shape == (2, 4)


def test_a_column_signature_takes_a_positional_array() -> None:
    signature = infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    checked = signature.enforce(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert list(checked.columns) == ["a", "b"]


def test_bad_signatures_and_examples() -> None:
    with pytest.raises(InvalidArgument, match="needs an 'inputs' schema"):
        Signature.from_dict({"outputs": None})
    with pytest.raises(InvalidArgument, match="malformed signature"):
        Signature.from_dict(
            {"inputs": {"type": "columns", "columns": [{"name": "a", "type": "x"}]}}
        )
    with pytest.raises(InvalidArgument, match="categorical columns \\['nope'\\]"):
        infer_signature(TRAIN, categorical=["nope"])
    example = example_to_json(TRAIN)
    assert example is not None
    back = example_from_json(example)
    assert list(back.columns) == list(TRAIN.columns) and len(back) == 3
    array = example_from_json(example_to_json(np.arange(12.0).reshape(6, 2)))
    assert array.shape == (5, 2)  # the first rows only


def test_enforcement_is_quiet_on_the_happy_path(signature: Signature) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        signature.enforce(TRAIN)
