"""Model signatures: what a model takes and returns, inferred from data and enforced on predict.

A column signature lists each input column with its type (``double``, ``float``, ``long``,
``integer``, ``boolean``, ``string``, ``category``, ``datetime``, ``binary`` or ``any``),
whether it may hold missing values, and for categories the levels seen in training. A tensor
signature gives a dtype and a shape (``-1`` for the batch dimension).

Enforcement runs on every ``predict``, so it is vectorized: one pass over the dtypes, one
null check over the columns that may not be null, one ``isin`` per categorical column. It
raises SchemaError naming the column for a missing column, a type that cannot be cast safely,
unexpected missing values or an unknown category; it applies safe casts (integers to floats,
to a wider integer, and floats to the trained float width), reorders the columns and drops
extra ones with a warning.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import InvalidArgument, SchemaError

COLUMN_TYPES = (
    "double", "float", "long", "integer", "boolean", "string", "category", "datetime",
    "binary", "any",
)  # fmt: skip
_NUMPY: dict[str, np.dtype[Any]] = {
    "double": np.dtype("float64"),
    "float": np.dtype("float32"),
    "long": np.dtype("int64"),
    "integer": np.dtype("int32"),
    "boolean": np.dtype("bool"),
}
_INT_KINDS = "iu"
EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class ColumnSpec:
    """One input or output column."""

    name: str
    type: str
    nullable: bool = False
    levels: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.levels is not None:
            data["levels"] = list(self.levels)
        return data

    def __str__(self) -> str:
        text = f"{self.name}: {self.type}{'?' if self.nullable else ''}"
        if self.levels is not None:
            shown = ", ".join(map(str, self.levels[:6])) + (", ..." if len(self.levels) > 6 else "")
            text += f" [{shown}]"
        return text


@dataclass(frozen=True)
class TensorSpec:
    """An n-dimensional array input or output; ``-1`` in ``shape`` means any size."""

    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape)}

    def __str__(self) -> str:
        return f"tensor {self.dtype} {tuple(self.shape)}"


@dataclass(frozen=True)
class Schema:
    """Either named columns or one tensor."""

    columns: tuple[ColumnSpec, ...] | None = None
    tensor: TensorSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.tensor is not None:
            return {"type": "tensor", **self.tensor.to_dict()}
        return {"type": "columns", "columns": [c.to_dict() for c in self.columns or ()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        try:
            if data["type"] == "tensor":
                return cls(tensor=TensorSpec(str(data["dtype"]), tuple(data["shape"])))
            columns = []
            for c in data["columns"]:
                if c["type"] not in COLUMN_TYPES:
                    raise ValueError(c["type"])
                levels = c.get("levels")
                columns.append(
                    ColumnSpec(
                        str(c["name"]),
                        c["type"],
                        bool(c.get("nullable", False)),
                        None if levels is None else tuple(levels),
                    )
                )
            return cls(columns=tuple(columns))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"malformed signature schema: {exc!r}", field="signature"
            ) from None

    def lines(self) -> list[str]:
        """One human-readable line per column (or the tensor)."""
        if self.tensor is not None:
            return [str(self.tensor)]
        return [str(c) for c in self.columns or ()]


@dataclass(frozen=True)
class Signature:
    """A model's input schema (enforced by ``predict``) and output schema (documentation)."""

    inputs: Schema
    outputs: Schema | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_dict(),
            "outputs": None if self.outputs is None else self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        if not isinstance(data, Mapping) or "inputs" not in data:
            raise InvalidArgument("a signature needs an 'inputs' schema", field="signature")
        outputs = data.get("outputs")
        return cls(
            Schema.from_dict(data["inputs"]), None if not outputs else Schema.from_dict(outputs)
        )

    def __str__(self) -> str:
        lines = ["inputs:", *("  " + line for line in self.inputs.lines())]
        if self.outputs is not None:
            lines += ["outputs:", *("  " + line for line in self.outputs.lines())]
        return "\n".join(lines)

    def enforce(self, data: Any) -> Any:
        """``data`` checked and converted to match the input schema (see the module doc)."""
        if self.inputs.tensor is not None:
            return _enforce_tensor(self.inputs.tensor, data)
        return _enforce_columns(self.inputs.columns or (), data)


# --------------------------------------------------------------------------------------------
# inference


def _column_type(series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return (
            "long"
            if dtype.itemsize >= 8 or (dtype.kind == "u" and dtype.itemsize >= 4)
            else "integer"
        )
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return "double" if dtype.itemsize >= 8 else "float"
    if pd.api.types.is_integer_dtype(dtype):  # nullable Int64 and friends
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or dtype.kind == "O":
        kind = pd.api.types.infer_dtype(series, skipna=True)
        return {
            "string": "string", "empty": "string", "bytes": "binary", "boolean": "boolean",
            "integer": "long", "floating": "double", "mixed-integer-float": "double",
        }.get(kind, "any")  # fmt: skip
    return "any"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _frame(data: Any, what: str) -> pd.DataFrame | None:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, Mapping):
        return _columns_frame(data, what)
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        return pd.DataFrame.from_records(data)
    return None


def _columns_frame(data: Mapping[Any, Any], what: str) -> pd.DataFrame:
    """A frame of a ``{column: values}`` mapping, or SchemaError naming the column whose
    length differs from the first (or ``what`` when no column is a list of values)."""
    lengths = {
        str(name): len(values)
        for name, values in data.items()
        if isinstance(values, Sequence | np.ndarray | pd.Series | pd.api.extensions.ExtensionArray)
        and not isinstance(values, str | bytes)
    }
    if not lengths and data:
        raise SchemaError(
            f"the {what} maps columns to single values; give each column a list of values",
            field=what,
        )
    rows = Counter(lengths.values()).most_common(1)[0][0] if lengths else 0
    for name, length in lengths.items():
        if length != rows:
            raise SchemaError(
                f"column {name!r} has {length} value(s) where the other columns have {rows}; "
                "every column needs one value per row",
                field=name,
            )
    return pd.DataFrame(dict(data))


def infer_schema(data: Any, categorical: Iterable[str] = ()) -> Schema:
    """The schema of a DataFrame (columns) or an array (tensor)."""
    frame = _frame(data, "data")
    if frame is None:
        array = np.asarray(data)
        if array.dtype.hasobject:
            raise InvalidArgument(
                "cannot infer a signature from an object array; pass a DataFrame",
                field="signature",
            )
        shape = (-1, *array.shape[1:]) if array.ndim else ()
        return Schema(tensor=TensorSpec(array.dtype.name, tuple(int(n) for n in shape)))
    wanted = set(categorical)
    unknown = wanted - set(map(str, frame.columns))
    if unknown:
        raise InvalidArgument(
            f"categorical columns {sorted(unknown)} are not in the data", field="categorical"
        )
    nulls = frame.isna().any()
    columns = []
    for name in frame.columns:
        series = frame[name]
        kind = _column_type(series)
        levels = None
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = tuple(_plain(v) for v in series.dtype.categories)
        elif str(name) in wanted:  # strings limited to the levels seen in training
            levels = tuple(sorted(_plain(v) for v in series.dropna().unique()))
        columns.append(ColumnSpec(str(name), kind, bool(nulls[name]), levels))
    return Schema(columns=tuple(columns))


def infer_signature(
    model_input: Any, model_output: Any = None, *, categorical: Iterable[str] = ()
) -> Signature:
    """Infer a signature from training data (DataFrame, dict of columns, records or array)
    and, optionally, what the model returns for it.

    Pandas ``category`` columns keep their levels; name other columns in ``categorical`` to
    record their distinct values as levels too (then an unseen value is refused on predict,
    while the column keeps its type).
    """
    outputs = None if model_output is None else infer_schema(model_output)
    return Signature(infer_schema(model_input, categorical), outputs)


def example_to_json(example: Any) -> dict[str, Any] | None:
    """The first rows of an input example, as JSON-friendly data (None when not serializable)."""
    import orjson

    frame = _frame(example, "input_example")
    if frame is not None:
        head = frame.head(EXAMPLE_ROWS)
        return {
            "columns": [str(c) for c in head.columns],
            "data": orjson.loads(head.to_json(orient="values", date_format="iso")),
        }
    array = np.asarray(example)
    if array.dtype.hasobject:
        return None
    return {"tensor": array[:EXAMPLE_ROWS].tolist(), "dtype": array.dtype.name}


def example_from_json(data: Mapping[str, Any] | None) -> Any:
    """Rebuild a stored input example (a DataFrame or an array)."""
    if not data:
        return None
    if "tensor" in data:
        return np.asarray(data["tensor"], dtype=data.get("dtype"))
    return pd.DataFrame(data["data"], columns=data["columns"])


# --------------------------------------------------------------------------------------------
# enforcement


def _enforce_tensor(spec: TensorSpec, data: Any) -> np.ndarray[Any, Any]:
    try:
        array = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nesting, or values numpy cannot hold
        raise SchemaError(f"input is not an array the model takes: {exc}", field="input") from None
    expected = np.dtype(spec.dtype)
    if len(spec.shape) != array.ndim or any(
        want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=False)
    ):
        raise SchemaError(
            f"input has shape {array.shape}; the model expects {tuple(spec.shape)} (-1 = any)",
            field="input",
        )
    if array.dtype != expected:
        if not _castable(array.dtype, expected):
            raise SchemaError(
                f"input has dtype {array.dtype}; the model expects {expected} and "
                f"{array.dtype} cannot be cast to it safely",
                field="input",
            )
        if array.dtype.kind == "f" and expected.kind == "f":
            finite = array[np.isfinite(array)]
            limit = np.finfo(expected).max
            if finite.size and (finite.min() < -limit or finite.max() > limit):
                raise SchemaError(
                    f"input has {array.dtype} values outside the {expected} range", field="input"
                )
        array = array.astype(expected)
    return array


def _castable(got: np.dtype[Any], want: np.dtype[Any]) -> bool:
    """Safe casts: numpy's safe rules, plus any float to the trained float width."""
    return bool(np.can_cast(got, want, casting="safe") or (want.kind == "f" and got.kind in "fiu"))


def _to_frame(columns: Sequence[ColumnSpec], data: Any) -> pd.DataFrame:
    frame = _frame(data, "input")
    if frame is not None:
        return frame
    array = np.asarray(data)
    if array.ndim == 2 and array.shape[1] == len(columns):
        return pd.DataFrame(array, columns=[c.name for c in columns])
    raise SchemaError(
        f"the model takes a table with columns {', '.join(c.name for c in columns[:8])}"
        f"{'...' if len(columns) > 8 else ''}; got {type(data).__name__}"
        + (f" of shape {array.shape}" if array.ndim else ""),
        field="input",
    )


def _enforce_columns(columns: Sequence[ColumnSpec], data: Any) -> pd.DataFrame:
    frame = _to_frame(columns, data)
    names = [c.name for c in columns]
    present = frame.columns
    if not all(isinstance(n, str) for n in present):
        frame = frame.rename(columns=str)
        present = frame.columns
    if present.has_duplicates:
        twice = str(present[present.duplicated()][0])
        raise SchemaError(
            f"input has column {twice!r} more than once; each column is given once",
            field=twice,
        )
    have = set(present)
    missing = [n for n in names if n not in have]
    if missing:
        raise SchemaError(
            f"input is missing column {missing[0]!r}"
            + (
                f" (and {len(missing) - 1} more: {', '.join(missing[1:4])})"
                if len(missing) > 1
                else ""
            )
            + "; the model needs every column of its signature",
            field=missing[0],
            missing=missing,
        )
    if len(have) != len(names):
        extra = [str(n) for n in present if n not in set(names)]
        warnings.warn(
            f"dropping {len(extra)} column(s) the model does not use: {', '.join(extra[:8])}",
            UserWarning,
            stacklevel=4,
        )
    if list(present) != names:
        frame = frame[names]
    converted: dict[str, Any] = {}
    not_null = []
    for spec, dtype in zip(columns, frame.dtypes, strict=True):
        if not spec.nullable:
            not_null.append(spec.name)
        if spec.type in _NUMPY and dtype == _NUMPY[spec.type]:
            continue  # the common case: already the trained dtype
        new = _convert(spec, frame[spec.name], dtype)
        if new is not None:
            converted[spec.name] = new
    if converted:
        frame = frame.assign(**converted)  # a new frame: the caller's data is never changed
    if not_null:
        counts = frame[not_null].isna().sum()
        bad = counts[counts > 0]
        if len(bad):
            name = str(bad.index[0])
            raise SchemaError(
                f"column {name!r} has {int(bad.iloc[0])} missing value(s); the model was "
                "trained without missing values there",
                field=name,
            )
    return frame


def _convert(spec: ColumnSpec, series: pd.Series, dtype: Any) -> Any:
    """The converted column, None when it already fits, or SchemaError."""
    if spec.type == "any":
        return None
    kind = spec.type
    if kind in _NUMPY:
        return _convert_number(spec, series, dtype, _NUMPY[kind])
    if kind == "string":
        if isinstance(dtype, pd.CategoricalDtype):
            series = series.astype(object)
        elif not pd.api.types.is_string_dtype(dtype) or _column_type(series) not in (
            "string",
            "any",
        ):
            raise _type_error(spec, str(dtype))
        if spec.levels is not None:
            _check_levels(spec, series)
        return series if isinstance(dtype, pd.CategoricalDtype) else None
    if kind == "category":
        _check_levels(spec, series)
        levels = list(spec.levels or ())
        if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == levels:
            return None
        return pd.Categorical(series, categories=levels)
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return None
        raise _type_error(spec, str(dtype))
    if kind == "boolean":
        raise _type_error(spec, str(dtype))
    return None


def _convert_number(spec: ColumnSpec, series: pd.Series, dtype: Any, want: np.dtype[Any]) -> Any:
    """Numbers: safe casts, floats to the trained float width, and wider integers to a
    narrower trained integer type when every value fits."""
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        if want.kind == "b":
            if dtype.kind == "b":
                return None
        elif dtype.kind in "iu" and want.kind == "i" and not _castable(dtype, want):
            _check_range(spec, series, dtype, want)
            return series.astype(want)
        elif _castable(dtype, want):
            if dtype.kind == "f" and want.itemsize < dtype.itemsize:
                _check_range(spec, series, dtype, want)
            return series.astype(want)
    elif pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
        if want.kind == "f":
            _check_range(spec, series, dtype, want)
            return series.astype(want)
        if want.kind == "i" and pd.api.types.is_integer_dtype(dtype):
            _check_range(spec, series, dtype, want)
            return None  # nullable integers stay as they are
    raise _type_error(spec, str(dtype))


def _check_range(spec: ColumnSpec, series: pd.Series, dtype: Any, want: np.dtype[Any]) -> None:
    """SchemaError naming the column when a finite value is outside what ``want`` holds (a
    narrower integer would wrap around, a narrower float would turn it infinite)."""
    info = np.iinfo(want) if want.kind in "iu" else np.finfo(want)
    values = series.dropna()
    if want.kind == "f":
        values = values[np.isfinite(values.to_numpy(dtype="float64"))]
    if len(values) and (values.min() < info.min or values.max() > info.max):
        raise _type_error(spec, f"{dtype} values outside the {want} range")


def _check_levels(spec: ColumnSpec, series: pd.Series) -> None:
    """SchemaError naming the column when it holds a value outside the trained levels."""
    levels = list(spec.levels or ())
    unknown_mask = ~series.isin(levels) & series.notna()
    if unknown_mask.any():
        unknown = list(dict.fromkeys(series[unknown_mask].tolist()))
        raise SchemaError(
            f"column {spec.name!r} has unknown categor{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown[:5]))}; the model knows "
            f"{', '.join(map(repr, levels[:10]))}{', ...' if len(levels) > 10 else ''}",
            field=spec.name,
            unknown=[str(u) for u in unknown[:20]],
        )


def _type_error(spec: ColumnSpec, got: str) -> SchemaError:
    return SchemaError(
        f"column {spec.name!r} has type {got}; the model expects {spec.type}, and {got} "
        "cannot be cast to it safely",
        field=spec.name,
    )
