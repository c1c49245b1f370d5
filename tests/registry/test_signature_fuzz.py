"""Property tests of signature enforcement: frames, column dicts and records of any column
types (wrong ones, missing and extra columns, NaN, infinities, integers past 64 bits) are
either accepted, with every value cast to the trained type unchanged, or refused with a
SchemaError naming the column at fault; never another exception."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from shipyard.errors import InvalidArgument, SchemaError
from shipyard.registry import Signature
from shipyard.registry._signature import ColumnSpec, Schema, TensorSpec
from tests.support.contract import examples

ROWS = 3
SPECS = [
    ColumnSpec("d", "double"),
    ColumnSpec("f", "float"),
    ColumnSpec("l", "long"),
    ColumnSpec("i", "integer"),
    ColumnSpec("b", "boolean"),
    ColumnSpec("s", "string"),
    ColumnSpec("plan", "string", levels=("basic", "gold")),
    ColumnSpec("c", "category", levels=("eu", "us")),
    ColumnSpec("t", "datetime"),
    ColumnSpec("a", "any"),
    ColumnSpec("dn", "double", nullable=True),
]
SIGNATURE = Signature(Schema(columns=tuple(SPECS)))
NAMES = [spec.name for spec in SPECS]
NUMERIC = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}

FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INTS = st.integers(min_value=-(2**70), max_value=2**70)


def _array(dtype: str) -> st.SearchStrategy[Any]:
    """ROWS values of a numpy dtype, from anywhere in its range."""
    kind = np.dtype(dtype)
    if kind.kind == "f":
        values = st.floats(width=8 * kind.itemsize, allow_nan=True, allow_infinity=True)
    elif kind.kind == "b":
        values = st.booleans()
    else:
        info = np.iinfo(kind)
        values = st.integers(min_value=int(info.min), max_value=int(info.max))
    return st.lists(values, min_size=ROWS, max_size=ROWS).map(lambda v: np.array(v, dtype=kind))


#: A column of any kind a caller may send.
COLUMNS = st.one_of(
    st.sampled_from(
        ["float64", "float32", "float16", "int64", "int32", "int8", "uint64", "uint8", "bool"]
    ).flatmap(_array),
    st.lists(
        st.one_of(FLOATS, INTS, st.booleans(), st.none(), st.text(max_size=4)),
        min_size=ROWS,
        max_size=ROWS,
    ),
    st.lists(
        st.sampled_from(["basic", "gold", "eu", "us", "x", None]), min_size=ROWS, max_size=ROWS
    ).map(lambda v: pd.Categorical(v)),
    st.lists(st.sampled_from(["basic", "gold", "eu", "us", ""]), min_size=ROWS, max_size=ROWS),
    st.lists(INTS, min_size=ROWS, max_size=ROWS),
    st.lists(st.integers(min_value=0, max_value=2**40), min_size=ROWS, max_size=ROWS).map(
        lambda v: pd.to_datetime(v, unit="s")
    ),
    st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=ROWS, max_size=ROWS).map(
        lambda v: pd.array(v, dtype="Int64")
    ),
)


#: Per column, values the model takes as they are.
VALID: dict[str, Any] = {
    "d": [1.0, 2.0, 3.0], "f": np.array([1, 2, 3], dtype="float32"),
    "l": [1, 2, 3], "i": np.array([1, 2, 3], dtype="int32"), "b": [True, False, True],
    "s": ["a", "b", "c"], "plan": ["basic", "gold", "basic"],
    "c": pd.Categorical(["eu", "us", "eu"], categories=["eu", "us"]),
    "t": pd.to_datetime([1, 2, 3], unit="s"), "a": [1, "x", 2.5], "dn": [1.0, None, 3.0],
}  # fmt: skip


def _form(draw: st.DrawFn, columns: dict[str, Any]) -> Any:
    """``columns`` as a frame, a dict of lists or records."""
    frame = pd.DataFrame(columns, index=range(ROWS))
    form = draw(st.sampled_from(["frame", "dict", "records"]))
    if form == "frame":
        return frame
    if form == "dict":
        return {k: list(v) for k, v in columns.items()}
    return frame.to_dict("records")


@st.composite
def one_column_changed(draw: st.DrawFn) -> tuple[Any, str, dict[str, Any]]:
    """Valid input with one column replaced, dropped, or joined by an extra one."""
    name = draw(st.sampled_from(NAMES))
    columns = dict(VALID)
    change = draw(st.sampled_from(["replace", "replace", "replace", "drop", "extra"]))
    if change == "drop":
        del columns[name]
    elif change == "extra":
        columns["extra"] = draw(COLUMNS)
    else:
        columns[name] = draw(COLUMNS)
    return _form(draw, columns), name, columns


@st.composite
def any_columns(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    """Any of the columns (each of any kind), and extra ones."""
    columns = {name: draw(COLUMNS) for name in NAMES if draw(st.integers(0, 9)) > 0}
    for extra in draw(st.lists(st.sampled_from(["x", "y", "0"]), max_size=2, unique=True)):
        columns[extra] = draw(COLUMNS)
    return _form(draw, columns), columns


def _same(got: pd.Series, sent: Any, dtype: str) -> bool:
    """Whether ``got`` holds the values sent, as the trained dtype holds them."""
    with np.errstate(all="ignore"):
        want = np.asarray(pd.Series(sent).to_numpy(), dtype="float64").astype(dtype)
    return bool(np.array_equal(got.to_numpy(dtype="float64"), want, equal_nan=True))


def _enforce(data: Any, columns: dict[str, Any]) -> pd.DataFrame | None:
    """The enforced frame, checked against what was sent; None when refused (naming a
    column that is at fault, or the input as a whole)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # extra columns are dropped
            warnings.simplefilter("error", RuntimeWarning)  # an overflowing cast is a bug
            result = SIGNATURE.enforce(data)
    except InvalidArgument as exc:
        assert exc.field in NAMES or exc.field == "input", exc
        if exc.field in NAMES and "missing column" not in exc.message:
            assert exc.field in columns, exc
        return None
    assert isinstance(result, pd.DataFrame) and list(result.columns) == NAMES
    for spec in SPECS:
        got = result[spec.name]
        if not spec.nullable:
            assert not got.isna().any(), spec.name
        if spec.type in NUMERIC and isinstance(got.dtype, np.dtype):
            assert got.dtype == NUMERIC[spec.type], spec.name
            assert _same(got, columns[spec.name], NUMERIC[spec.type]), spec.name
            sent = np.asarray(pd.Series(columns[spec.name]).to_numpy(), dtype="float64")
            finite = np.isfinite(got.to_numpy("float64")).sum()
            assert finite >= np.isfinite(sent).sum(), f"{spec.name}: a value became infinite"
        if spec.type == "boolean":
            assert got.dtype == bool
        if spec.levels is not None:
            assert set(got.dropna()) <= set(spec.levels), spec.name
    return result


def test_valid_input_in_every_form_is_accepted() -> None:
    frame = pd.DataFrame(VALID)
    for data in (frame, dict(VALID), frame.to_dict("records")):
        assert _enforce(data, VALID) is not None


@settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)
@given(drawn=one_column_changed())
def test_a_changed_column_is_cast_unchanged_or_refused_naming_it(
    drawn: tuple[Any, str, dict[str, Any]],
) -> None:
    data, name, columns = drawn
    if _enforce(data, columns) is not None:
        assert name in columns  # a dropped column is never accepted


@settings(max_examples=examples(100), deadline=None, derandomize=True, database=None)
@given(drawn=any_columns())
def test_any_columns_are_cast_unchanged_or_refused_naming_a_column(
    drawn: tuple[Any, dict[str, Any]],
) -> None:
    _enforce(*drawn)


@settings(max_examples=examples(100), deadline=None, derandomize=True, database=None)
@given(
    lengths=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    scalars=st.booleans(),
    twice=st.booleans(),
)
def test_malformed_tables_are_refused_naming_the_column(
    lengths: list[int], scalars: bool, twice: bool
) -> None:
    """Columns of different lengths, single values instead of lists, a column given twice."""
    names = NAMES[: len(lengths)]
    table: dict[str, Any] = {
        n: 1.0 if scalars else [1.0] * k for n, k in zip(names, lengths, strict=True)
    }
    outcome = _enforce(table, table)
    if len(set(lengths)) > 1 or scalars:
        assert outcome is None
    frame = pd.DataFrame([[1.0] * 3], columns=["d", "d" if twice else "f", "l"])
    with np.errstate(all="ignore"):
        assert _enforce(frame, dict(frame.items())) is None


@settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
@given(
    dtype=st.sampled_from(["float32", "float64", "int32", "int64"]),
    data=st.one_of(
        COLUMNS.map(lambda c: np.asarray(pd.Series(c).to_numpy())[:, None]),
        st.recursive(
            st.one_of(FLOATS, INTS, st.none(), st.text(max_size=2)), st.lists, max_leaves=6
        ),
    ),
)
def test_tensors_of_any_values_are_cast_or_refused(dtype: str, data: Any) -> None:
    signature = Signature(Schema(tensor=TensorSpec(dtype, (-1, 1))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            array = signature.enforce(data)
    except InvalidArgument as exc:
        assert exc.field == "input", exc
        return
    assert array.dtype == np.dtype(dtype) and array.shape[1:] == (1,)
    sent = np.asarray(data, dtype="float64")
    assert np.isfinite(array.astype("float64")).sum() >= np.isfinite(sent).sum()


def test_values_the_trained_type_cannot_hold_are_refused_naming_the_column() -> None:
    for name, values in [
        ("f", np.array([1e300, 1.0, -1e39])),  # float32 would make them infinite
        ("i", pd.array([2**40, 1, None], dtype="Int64")),  # past int32
        ("i", pd.array([1.5, 1.0, 2.0], dtype="Float64")),  # fractions for an integer
    ]:
        columns = {**VALID, name: values}
        assert _enforce(pd.DataFrame(columns), columns) is None
        with pytest.raises(SchemaError) as refused:
            SIGNATURE.enforce(pd.DataFrame(columns))
        assert refused.value.field == name
    wide = Signature(Schema(tensor=TensorSpec("float32", (-1,))))
    with pytest.raises(SchemaError, match="outside the float32 range"):
        wide.enforce(np.array([1e300]))
