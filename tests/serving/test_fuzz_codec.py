"""More property tests of the V2 codecs, on what a hostile or careless client sends: shapes
of any size and depth, nested or ragged data, binary tensors holding infinities and NaN or
the wrong number of bytes, BYTES tensors, and ``parameters`` that are not objects. Each
request decodes to exactly what was sent or is refused with a 4xx naming the input."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
from hypothesis import given, settings, strategies as st

from shipyard.errors import ShipyardError
from shipyard.serving._codec import DTYPES, decode_request
from tests.support.contract import examples

FUZZ = settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
FLOAT_TYPES = {"FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


def _request(tensor: dict[str, Any], binary: bytes = b"", **doc: Any) -> Any:
    """The decoded request, or the 4xx Shipyard error it was refused with."""
    header = json.dumps({"inputs": [tensor], **doc}).encode()
    length = str(len(header)) if binary else None
    try:
        return decode_request(header + binary, length)
    except ShipyardError as exc:
        assert 400 <= exc.http_status < 500, exc
        return exc


@FUZZ
@given(
    datatype=st.sampled_from(sorted(DTYPES)),
    shape=st.lists(st.one_of(st.integers(0, 3), st.integers(0, 2**64), st.booleans()), max_size=70),
    data=st.recursive(
        st.one_of(
            st.integers(-3, 3),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=2),
            st.none(),
        ),
        lambda inner: st.lists(inner, max_size=3),
        max_leaves=8,
    ),
)
def test_any_shape_and_nesting_decodes_to_that_shape_or_is_refused(
    datatype: str, shape: list[Any], data: Any
) -> None:
    outcome = _request({"name": "x", "datatype": datatype, "shape": shape, "data": data})
    if isinstance(outcome, ShipyardError):
        assert outcome.field == "x", outcome
        return
    array = outcome.inputs[0].array
    assert array.shape == tuple(shape) and array.size == math.prod(shape)


@FUZZ
@given(
    datatype=st.sampled_from(sorted(FLOAT_TYPES)),
    values=st.lists(st.floats(width=16), min_size=1, max_size=6),
    cut=st.integers(-3, 3),
)
def test_binary_floats_keep_every_bit_refuse_infinities_and_wrong_lengths(
    datatype: str, values: list[float], cut: int
) -> None:
    raw = np.array(values, dtype=FLOAT_TYPES[datatype]).tobytes()
    sent = raw[: len(raw) + cut] if cut < 0 else raw + b"\x00" * cut
    tensor = {
        "name": "x",
        "datatype": datatype,
        "shape": [len(values)],
        "parameters": {"binary_data_size": len(sent)},
    }
    outcome = _request(tensor, sent)
    if cut != 0:
        assert isinstance(outcome, ShipyardError) and outcome.field == "x", outcome
    elif any(math.isinf(v) for v in values):
        assert isinstance(outcome, ShipyardError) and outcome.field == "x"
        assert "infinite" in outcome.message
    else:
        assert not isinstance(outcome, ShipyardError), outcome
        assert outcome.inputs[0].array.tobytes() == raw  # NaN (a missing value) passes


@FUZZ
@given(
    items=st.lists(st.one_of(st.binary(max_size=6), st.text(max_size=4)), max_size=5),
    extra=st.binary(max_size=3),
)
def test_binary_bytes_tensors_decode_each_element_or_are_refused(
    items: list[bytes | str], extra: bytes
) -> None:
    encoded = [i.encode() if isinstance(i, str) else i for i in items]
    raw = b"".join(struct.pack("<I", len(i)) + i for i in encoded) + extra
    tensor = {
        "name": "x",
        "datatype": "BYTES",
        "shape": [len(items)],
        "parameters": {"binary_data_size": len(raw)},
    }
    outcome = _request(tensor, raw)
    if extra:  # a truncated element, or one more than the shape says
        assert isinstance(outcome, ShipyardError) and outcome.field == "x", outcome
        return
    assert not isinstance(outcome, ShipyardError), outcome
    got = [v.encode() if isinstance(v, str) else v for v in outcome.inputs[0].array.tolist()]
    assert got == encoded


@FUZZ
@given(
    parameters=st.one_of(
        st.lists(st.integers(), min_size=1),
        st.text(min_size=1),
        st.integers(min_value=1),
        st.just(True),
    ),
    where=st.sampled_from(["tensor", "output", "size"]),
)
def test_parameters_that_are_not_objects_are_refused_naming_where(
    parameters: Any, where: str
) -> None:
    tensor: dict[str, Any] = {"name": "x", "datatype": "FP32", "shape": [1], "data": [1.0]}
    doc: dict[str, Any] = {}
    if where == "tensor":
        tensor["parameters"] = parameters
    elif where == "output":
        doc["outputs"] = [{"name": "predict", "parameters": parameters}]
    else:
        tensor["parameters"] = {"binary_data_size": parameters}
    outcome = _request(tensor, **doc)
    assert isinstance(outcome, ShipyardError), outcome
    assert outcome.field == ("outputs" if where == "output" else "x")


def test_shapes_past_64_bits_or_numpys_dimensions_are_refused_naming_the_input() -> None:
    for shape, data in (([2**32, 2**32], []), ([0, 2**62], []), ([1] * 70, [1.0])):
        outcome = _request({"name": "x", "datatype": "FP32", "shape": shape, "data": data})
        assert isinstance(outcome, ShipyardError) and outcome.field == "x", outcome
