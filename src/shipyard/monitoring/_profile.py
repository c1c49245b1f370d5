"""Reference profiles: what "normal" looked like, fitted once and kept as a small JSON blob.

Per column the profile keeps what every drift test needs, so scoring a window never reads
the reference data again:

- numeric: quantile bin edges (``bins`` bins, open-ended at both ends) with the reference
  count in each bin, summary statistics (mean, std, min, max, quartiles), and a uniform
  random sample of at most ``sample_size`` values (the reservoir the KS test and the
  Wasserstein distance compare against);
- categorical (text, boolean, category): every level with its count (at most
  ``max_levels``; a column with more is kept as high-cardinality and only its missing share
  is tested);
- both: the row count and the number of missing values.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.client import Store
from shipyard.errors import InvalidArgument
from shipyard.monitoring._columns import (
    arrow_is_numeric,
    arrow_level_counts,
    arrow_numeric_values,
    dictionary_columns,
    is_numeric,
    level_counts,
    numeric_values,
)

PROFILE_FORMAT = 1
DEFAULT_BINS = 10
DEFAULT_SAMPLE = 10_000
MAX_LEVELS = 1_000


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a reference profile (see the module docstring).

    Attributes:
        name: The column's name.
        kind: ``numeric`` or ``categorical``.
        count: The reference's number of rows.
        missing: Its rows without a value.
        edges: A numeric column's quantile bin edges.
        bin_counts: The reference's count in each bin.
        sample: A uniform random sample of the values.
        stats: Summary statistics (mean, std, min, max, quartiles).
        levels: A categorical column's levels with their counts.
        high_cardinality: True when it has more levels than are kept (only its missing share is
            tested).
    """

    name: str
    kind: str  # "numeric" or "categorical"
    count: int
    missing: int
    edges: list[float] = field(default_factory=list)
    bin_counts: list[int] = field(default_factory=list)
    sample: list[float] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    high_cardinality: bool = False

    @property
    def present(self) -> int:
        """Rows with a value."""
        return self.count - self.missing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        return cls(**data)


@dataclass(frozen=True)
class ReferenceProfile:
    """A fitted reference: its columns, where it came from (``source``, e.g. ``churn@3``) and
    the blob digest it is stored under once saved."""

    columns: dict[str, ColumnProfile]
    num_rows: int
    source: str = ""
    digest: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "source": self.source,
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], digest: str = "") -> ReferenceProfile:
        columns = [ColumnProfile.from_dict(c) for c in data["columns"]]
        return cls({c.name: c for c in columns}, int(data["num_rows"]), data["source"], digest)


def _quantiles(ordered: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantiles of sorted values, linearly interpolated (numpy's default method)."""
    pos = qs * (len(ordered) - 1)
    lo = np.floor(pos).astype("int64")
    hi = np.minimum(lo + 1, len(ordered) - 1)
    return np.asarray(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def _numeric_profile(
    name: str, values: np.ndarray, bins: int, sample_size: int, rng: np.random.Generator
) -> ColumnProfile:
    """Sorted once: the bin edges, quartiles, extremes and bin counts all come from it."""
    present = values[~np.isnan(values)]
    missing = len(values) - len(present)
    if len(present) == 0:
        return ColumnProfile(name, "numeric", len(values), missing)
    ordered = np.sort(present)
    inner = np.unique(_quantiles(ordered, np.linspace(0, 1, bins + 1)[1:-1]))
    # bin k holds inner[k-1] <= x < inner[k]
    bounds = np.concatenate([[0], np.searchsorted(ordered, inner, side="left"), [len(ordered)]])
    counts = np.diff(bounds)
    sample = present if len(present) <= sample_size else rng.choice(present, sample_size, False)
    q1, median, q3 = _quantiles(ordered, np.asarray([0.25, 0.5, 0.75]))
    stats = {
        "mean": float(present.mean()),
        "std": float(present.std(ddof=1)) if len(present) > 1 else 0.0,
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "p25": float(q1),
        "p50": float(median),
        "p75": float(q3),
    }
    return ColumnProfile(
        name,
        "numeric",
        len(values),
        missing,
        edges=[float(e) for e in inner],
        bin_counts=[int(c) for c in counts],
        sample=np.sort(sample).tolist(),
        stats=stats,
    )


def _categorical_profile(
    name: str, count: int, missing: int, levels: dict[str, int], max_levels: int
) -> ColumnProfile:
    if len(levels) > max_levels:
        return ColumnProfile(name, "categorical", count, missing, high_cardinality=True)
    ordered = dict(sorted(levels.items(), key=lambda kv: -kv[1]))
    return ColumnProfile(name, "categorical", count, missing, levels=ordered)


def fit_profile(
    frame: pd.DataFrame | Path,
    *,
    columns: Sequence[str] | None = None,
    categorical: Iterable[str] = (),
    bins: int = DEFAULT_BINS,
    sample_size: int = DEFAULT_SAMPLE,
    max_levels: int = MAX_LEVELS,
    source: str = "",
    seed: int = 0,
) -> ReferenceProfile:
    """Profile ``frame`` (or its ``columns``); names in ``categorical`` are treated as
    categories even when they hold numbers. A :class:`~pathlib.Path` is a Parquet file,
    read one column at a time through Arrow (memory holds one column, not the table)."""
    if bins < 2 or sample_size < 10 or max_levels < 1:
        raise InvalidArgument(
            f"need bins >= 2, sample_size >= 10 and max_levels >= 1, got bins={bins}, "
            f"sample_size={sample_size}, max_levels={max_levels}",
            field="bins",
        )
    parquet = _ParquetColumns(frame) if isinstance(frame, Path) else None
    table = frame if isinstance(frame, pd.DataFrame) else None
    have: list[Any] = parquet.names if parquet else list(getattr(table, "columns", []))
    names = list(have if columns is None else columns)
    missing = [c for c in names if c not in have]
    if missing:
        raise InvalidArgument(
            f"the reference data has no column {', '.join(map(repr, missing))}", field="columns"
        )
    num_rows = parquet.num_rows if parquet else len(frame)  # type: ignore[arg-type]
    if num_rows == 0:
        raise InvalidArgument("the reference data has no rows; fit on a non-empty dataset")
    forced = set(categorical)
    rng = np.random.default_rng(seed)
    profiles: dict[str, ColumnProfile] = {}
    for original in names:
        name = str(original)
        if parquet is not None:
            array = parquet.read(name)
            if arrow_is_numeric(array.type) and name not in forced:
                values = arrow_numeric_values(array)
                profiles[name] = _numeric_profile(name, values, bins, sample_size, rng)
            else:
                levels, absent = arrow_level_counts(array)
                profiles[name] = _categorical_profile(name, num_rows, absent, levels, max_levels)
        elif table is not None:
            series = table[original]
            if is_numeric(series) and name not in forced:
                profiles[name] = _numeric_profile(
                    name, numeric_values(series), bins, sample_size, rng
                )
            else:
                levels, absent = level_counts(series)
                profiles[name] = _categorical_profile(name, num_rows, absent, levels, max_levels)
    return ReferenceProfile(profiles, num_rows, source)


class _ParquetColumns:
    """A Parquet file's data columns (not a stored pandas index), read one at a time; text
    columns come back dictionary-encoded."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        index = (schema.pandas_metadata or {}).get("index_columns", [])
        self.names = [n for n in schema.names if n not in index]
        text = dictionary_columns(schema, self.names)
        self.file = pq.ParquetFile(path, read_dictionary=text, pre_buffer=False)
        self.num_rows = int(self.file.metadata.num_rows)

    def read(self, name: str) -> Any:
        return self.file.read(columns=[name]).column(0)


def save_profile(profile: ReferenceProfile, store: Store) -> ReferenceProfile:
    """Store the profile as a JSON blob; returns it with its digest set."""
    text = json.dumps(profile.to_dict(), separators=(",", ":"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.json"
        path.write_text(text)
        digest = store.put_blob(path)
    return ReferenceProfile(profile.columns, profile.num_rows, profile.source, digest)


def load_profile(digest: str, store: Store) -> ReferenceProfile:
    """A stored profile by its blob digest (verified on read)."""
    data = json.loads(store.fetch_blob(digest).read_text())
    return ReferenceProfile.from_dict(data, digest)
