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

PROFILE_FORMAT = 1
DEFAULT_BINS = 10
DEFAULT_SAMPLE = 10_000
MAX_LEVELS = 1_000


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a reference profile (see the module docstring)."""

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


def _numeric_profile(
    name: str, series: pd.Series, bins: int, sample_size: int, rng: np.random.Generator
) -> ColumnProfile:
    values = numeric_values(series)
    present = values[~np.isnan(values)]
    missing = len(values) - len(present)
    if len(present) == 0:
        return ColumnProfile(name, "numeric", len(values), missing)
    inner = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = [float(e) for e in inner]
    counts = np.bincount(np.searchsorted(inner, present, side="right"), minlength=len(inner) + 1)
    sample = present if len(present) <= sample_size else rng.choice(present, sample_size, False)
    q1, median, q3 = np.quantile(present, [0.25, 0.5, 0.75])
    stats = {
        "mean": float(present.mean()),
        "std": float(present.std(ddof=1)) if len(present) > 1 else 0.0,
        "min": float(present.min()),
        "max": float(present.max()),
        "p25": float(q1),
        "p50": float(median),
        "p75": float(q3),
    }
    return ColumnProfile(
        name,
        "numeric",
        len(values),
        missing,
        edges=edges,
        bin_counts=[int(c) for c in counts],
        sample=[float(x) for x in np.sort(sample)],
        stats=stats,
    )


def _categorical_profile(name: str, series: pd.Series, max_levels: int) -> ColumnProfile:
    counts = series.value_counts(dropna=True)
    missing = int(series.isna().sum())
    if len(counts) > max_levels:
        return ColumnProfile(name, "categorical", len(series), missing, high_cardinality=True)
    levels: dict[str, int] = {}
    for key, n in counts.items():
        levels[str(key)] = levels.get(str(key), 0) + int(n)
    return ColumnProfile(name, "categorical", len(series), missing, levels=levels)


def fit_profile(
    frame: pd.DataFrame,
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
    categories even when they hold numbers."""
    if bins < 2 or sample_size < 10 or max_levels < 1:
        raise InvalidArgument(
            f"need bins >= 2, sample_size >= 10 and max_levels >= 1, got bins={bins}, "
            f"sample_size={sample_size}, max_levels={max_levels}",
            field="bins",
        )
    names = list(frame.columns if columns is None else columns)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"the reference data has no column {', '.join(map(repr, missing))}", field="columns"
        )
    if len(frame) == 0:
        raise InvalidArgument("the reference data has no rows; fit on a non-empty dataset")
    forced = set(categorical)
    rng = np.random.default_rng(seed)
    profiles: dict[str, ColumnProfile] = {}
    for name in names:
        series = frame[name]
        if is_numeric(series) and name not in forced:
            profiles[str(name)] = _numeric_profile(str(name), series, bins, sample_size, rng)
        else:
            profiles[str(name)] = _categorical_profile(str(name), series, max_levels)
    return ReferenceProfile(profiles, len(frame), source)


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
