"""Request payloads to model input: V2 tensors or JSON records/columns, checked against the
model's signature before anything reaches the model.

A model with a column signature (a DataFrame model) takes either one tensor per column
(shape ``[n]`` or ``[n, 1]``, named like the column) or a single 2-D tensor whose columns are
the signature's columns in order. A tensor-signature model takes one tensor. Every mismatch is
a SchemaError naming the input or column (a 422), raised while the request is on its own, so
one bad request never fails the batch it would have joined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import SchemaError
from shipyard.registry import Signature
from shipyard.serving._codec import Tensor, v2_datatype
from shipyard.serving._config import FeatureSource

_V2_OF_COLUMN = {
    "double": "FP64", "float": "FP32", "long": "INT64", "integer": "INT32",
    "boolean": "BOOL", "string": "BYTES", "category": "BYTES", "datetime": "BYTES",
    "binary": "BYTES", "any": "BYTES",
}  # fmt: skip


def online_features(service: str, keys: Any) -> Any:
    """The feature service's latest online values for each row of entity keys (a frame with
    the join keys; the model's signature then picks the columns it was trained on)."""
    from shipyard.features import get_online_features

    return get_online_features(keys.to_dict("records"), service).to_df()


class InputPlan:
    """How one model version's requests become its input (and what it advertises)."""

    def __init__(
        self,
        signature: Signature | None,
        *,
        feature_service: str | None = None,
        feature_source: FeatureSource | None = None,
    ) -> None:
        self.signature = signature
        columns = signature.inputs.columns if signature is not None else None
        self.columns: list[str] | None = [c.name for c in columns] if columns else None
        self.tensor = signature.inputs.tensor if signature is not None else None
        # Online features: a version naming a feature service is called with entity keys and
        # gets its features from ``feature_source`` (by default the feature store's online
        # store, see ``online_features``).
        self.feature_service = feature_service
        self.feature_source = feature_source if feature_service else None
        # All-double signatures (most tabular models) take a fast path: JSON records or a
        # float64 matrix become the checked frame directly, with the column index built once,
        # instead of a generic frame that Signature.enforce then selects, casts and scans.
        # Anything unusual (a missing or extra column, a non-number, a NaN) falls back to
        # the general path, which names the field in its error.
        self._fast = bool(
            columns
            and self.feature_source is None
            and all(c.type == "double" for c in columns)
            and len(set(self.columns or ())) == len(columns)
        )
        self._index = pd.Index(self.columns or []) if self._fast else None
        self._positions = {name: i for i, name in enumerate(self.columns or ())}
        self._strict = np.array([not c.nullable for c in columns or ()], dtype=bool)

    # ---------------------------------------------------------------- metadata

    def metadata(self) -> list[dict[str, Any]]:
        """The inputs as V2 model metadata lists them."""
        if self.signature is not None and self.signature.inputs.columns:
            return [
                {"name": c.name, "datatype": _V2_OF_COLUMN[c.type], "shape": [-1, 1]}
                for c in self.signature.inputs.columns
            ]
        if self.tensor is not None:
            return [
                {
                    "name": "input-0",
                    "datatype": v2_datatype(np.dtype(self.tensor.dtype)),
                    "shape": list(self.tensor.shape),
                }
            ]
        return []

    # ---------------------------------------------------------------- conversion

    def enforce(self, data: Any) -> Any:
        """``data`` after the feature lookup and the signature check (SchemaError names the
        field)."""
        if self.feature_source is not None and self.feature_service is not None:
            data = self.feature_source(self.feature_service, _as_frame(data))
        return self.check(data)

    def check(self, data: Any) -> Any:
        """``data`` checked against the signature (safe casts applied), without the feature
        lookup."""
        if self.signature is None:
            return data
        return self.signature.enforce(data)

    def from_tensors(self, tensors: list[Tensor]) -> Any:
        """Model input from V2 tensors."""
        if self._fast and len(tensors) > 1:
            fast = self._per_column(tensors)
            if fast is not None:
                return fast
        if self.columns is not None and not (
            len(tensors) == 1 and tensors[0].name not in self.columns and tensors[0].array.ndim == 2
        ):
            return self.enforce(_columns_frame(tensors))
        if len(tensors) == 1:
            array = tensors[0].array
            if self.columns is not None and array.shape[1] != len(self.columns):
                raise SchemaError(
                    f"input {tensors[0].name!r} has shape {list(array.shape)}; the model takes "
                    f"{len(self.columns)} columns ({', '.join(self.columns[:5])}...) as "
                    "[rows, columns] or one tensor per column",
                    field=tensors[0].name,
                )
            fast = self._matrix(array)
            if fast is not None:
                return fast
            data = pd.DataFrame(array, columns=self.columns) if self.columns else array
            return self.enforce(data)
        if self.tensor is not None:
            raise SchemaError(
                f"the model takes one tensor; got {len(tensors)} inputs", field="inputs"
            )
        return self.enforce(_columns_frame(tensors))

    def from_json(self, doc: Any) -> Any:
        """Model input from a /predict body: records, ``{"columns", "data"}``, a dict of
        columns, rows of numbers, or any of these under ``inputs``/``instances``."""
        if self._fast and isinstance(doc, list):
            fast = self._records(doc)
            if fast is not None:
                return fast
        return self.enforce(_json_data(doc))

    def _records(self, doc: list[Any]) -> pd.DataFrame | None:
        """JSON records holding exactly the signature's columns, all numbers, as the checked
        frame; None when the general path must decide."""
        names = self.columns
        assert names is not None
        width = len(names)
        try:
            rows = [[r[n] for n in names] for r in doc if len(r) == width]
        except (KeyError, TypeError):  # a missing column, or not a list of records
            return None
        if len(rows) != len(doc) or not doc:
            return None
        for row in rows:
            for value in row:
                kind = type(value)
                if kind is not float and (kind is not int or not -(2**53) <= value <= 2**53):
                    return None  # strings, bools, nulls, huge integers: the general path
        return self._matrix(np.array(rows, dtype=np.float64))

    def _per_column(self, tensors: list[Tensor]) -> pd.DataFrame | None:
        """One FP64 tensor per signature column (the layout the model metadata advertises),
        copied straight into a float64 [rows, columns] matrix in the signature's order: the
        checked frame. None when the general path must decide (a missing, extra or repeated
        column, another datatype, a shape other than [rows] or [rows, 1], ragged lengths)."""
        positions = self._positions
        if len(tensors) != len(positions):
            return None
        rows = tensors[0].array.shape[0] if tensors[0].array.ndim else -1
        matrix = np.empty((max(rows, 0), len(positions)), dtype=np.float64)
        seen = 0
        for tensor in tensors:
            array = tensor.array
            position = positions.get(tensor.name)
            if (
                position is None
                or array.dtype != np.float64
                or array.shape[0:1] != (rows,)
                or not (array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1))
            ):
                return None
            matrix[:, position] = array.reshape(rows)
            seen |= 1 << position
        if seen != (1 << len(positions)) - 1:  # a column sent twice, another never
            return None
        return self._matrix(matrix)

    def _matrix(self, array: Any) -> pd.DataFrame | None:
        """A float64 [rows, columns] matrix as the checked frame (None: general path)."""
        if (
            not self._fast
            or not isinstance(array, np.ndarray)
            or array.dtype != np.float64
            or array.ndim != 2
            or array.shape[1] != len(self._strict)
            or (array.size and np.isnan(array[:, self._strict]).any())
        ):
            return None
        return pd.DataFrame(array, columns=self._index, copy=False)


def _columns_frame(tensors: list[Tensor]) -> pd.DataFrame:
    columns: dict[str, np.ndarray[Any, Any]] = {}
    length: int | None = None
    for tensor in tensors:
        array = tensor.array
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise SchemaError(
                f"input {tensor.name!r} has shape {list(tensor.shape)}; a column is [rows] or "
                "[rows, 1]",
                field=tensor.name,
            )
        if length is not None and len(array) != length:
            raise SchemaError(
                f"input {tensor.name!r} has {len(array)} rows; the inputs before it have {length}",
                field=tensor.name,
            )
        length = len(array)
        columns[tensor.name] = array
    return pd.DataFrame(columns, copy=False)


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame(data)


def _json_data(doc: Any) -> Any:
    try:
        if isinstance(doc, Mapping):
            for key in ("dataframe_split", "inputs", "instances", "dataframe_records", "records"):
                if key in doc and len(doc) <= 2:
                    return _json_data(doc[key])
            if "columns" in doc and "data" in doc:
                return pd.DataFrame(doc["data"], columns=doc["columns"])
            if doc and all(isinstance(v, list) for v in doc.values()):
                return pd.DataFrame(dict(doc))
            if doc:
                return pd.DataFrame.from_records([dict(doc)])
        if isinstance(doc, list) and doc:
            if all(isinstance(r, Mapping) for r in doc):
                return pd.DataFrame.from_records(doc)
            array = np.asarray(doc)
            if array.dtype.kind in "biuf" and array.ndim in (1, 2):
                return array if array.ndim == 2 else array.reshape(1, -1)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"cannot read the input as a table: {exc}", field="body") from None
    raise SchemaError(
        "the body must be a list of records ([{column: value}, ...]), columns "
        '({"column": [values]}), {"columns": [...], "data": [[...]]} or rows of numbers',
        field="body",
    )


def rows_of(data: Any) -> int:
    """How many rows a model input holds."""
    return int(data.shape[0]) if getattr(data, "ndim", 1) else 1
