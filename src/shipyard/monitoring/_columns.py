"""Column values for the profile and the drift accumulators, from pandas or straight from
Arrow (Parquet files are read column by column or batch by batch without going through
pandas: numbers become float64 arrays without a copy where Arrow allows one, categories
are counted on their dictionary codes, so no Python string object is ever made per row).

Both paths give the same answer: numbers (and datetimes, as epoch nanoseconds) as float64
with NaN where missing; categories as ``{str(level): count}`` plus the missing count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def is_numeric(series: pd.Series) -> bool:
    """Numbers and datetimes are numeric; booleans, text and categories are categorical."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))


def numeric_values(series: pd.Series) -> np.ndarray:
    """A column's values as float64 (datetimes as epoch nanoseconds), NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        out = values.astype("int64").astype("float64")
        out[np.isnat(values)] = np.nan
        return out
    return np.asarray(pd.to_numeric(series, errors="coerce"), dtype="float64")


def level_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """A column's level counts (levels as text) and its missing count."""
    levels: dict[str, int] = {}
    for level, n in series.value_counts(dropna=True, sort=False).items():
        levels[str(level)] = levels.get(str(level), 0) + int(n)
    return levels, int(series.isna().sum())


def _is_plain_number(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))


def arrow_is_numeric(arrow_type: Any) -> bool:
    """:func:`is_numeric` for an Arrow type (decimals and datetimes too)."""
    import pyarrow as pa

    return bool(
        _is_plain_number(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
    )


def arrow_numeric_values(array: Any) -> np.ndarray:
    """:func:`numeric_values` of an Arrow array or chunked array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _is_plain_number(array.type):
        return numeric_values(array.to_pandas())
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64())
    if isinstance(array, pa.ChunkedArray):
        return np.asarray(array.to_numpy(), dtype="float64")
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype="float64")


def arrow_level_counts(array: Any) -> tuple[dict[str, int], int]:
    """:func:`level_counts` of an Arrow array or chunked array (dictionary-encoded or not)."""
    import pyarrow.compute as pc

    found = pc.value_counts(array)
    levels: dict[str, int] = {}
    values = found.field("values")
    if hasattr(values, "dictionary_decode"):
        values = values.dictionary_decode()
    for level, n in zip(values.to_pylist(), found.field("counts").to_pylist(), strict=True):
        if level is not None:
            levels[str(level)] = levels.get(str(level), 0) + int(n)
    return levels, int(array.null_count)


def dictionary_columns(schema: Any, names: Sequence[str]) -> list[str]:
    """The text columns among ``names``: read as dictionaries, they are counted on codes."""
    import pyarrow as pa

    return [
        n
        for n in names
        if n in schema.names
        and (
            pa.types.is_string(schema.field(n).type)
            or pa.types.is_large_string(schema.field(n).type)
        )
    ]
