"""Scoring a current window against a reference profile, streamed in chunks.

Each chunk updates per-column accumulators (bin counts, level counts, missing counts, a
fixed-size uniform reservoir of numeric values), so memory stays flat whatever the window's
size; the tests run once at the end on the accumulated counts.

The verdict rule. A column is **drifted** when

1. its p-value test (``ks`` for numbers, ``chi2`` for categories) rejects at ``alpha``, **and**
2. its effect size (normalized ``wasserstein`` for numbers, ``jensen_shannon`` for
   categories) is at or above its threshold (0.1 by default),

or when its missing share moved significantly by at least 0.05, or more than 1% of its
values are categories the reference never had. The p-value keeps false alarms at alpha on
small windows (where effect sizes are noisy); the effect size keeps a trivially small shift
from being an alert on large windows (where every p-value is tiny). With tests overridden to
only p-value tests (or only effect sizes) those alone decide. The dataset is drifted when the
(importance-weighted) share of drifted columns reaches ``share_threshold`` (0.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import InvalidArgument, SchemaError
from shipyard.monitoring import _stat_tests as t
from shipyard.monitoring._columns import (
    arrow_level_counts,
    arrow_numeric_values,
    dictionary_columns,
    level_counts,
    numeric_values,
)
from shipyard.monitoring._options import DriftOptions
from shipyard.monitoring._profile import ColumnProfile, ReferenceProfile


@dataclass(frozen=True)
class ColumnDrift:
    """The tests of one column and its verdict.

    Attributes:
        column: The column's name.
        kind: ``numeric`` or ``categorical``.
        n_reference: The reference's number of rows.
        n_current: The current window's number of rows.
        tests: Each test's result.
        drifted: The column's verdict.
        current: The current window's summary (bin counts, mean, sample or levels), for reports.
    """

    column: str
    kind: str
    n_reference: int
    n_current: int
    tests: list[t.TestResult]
    drifted: bool
    current: dict[str, Any] = field(default_factory=dict)

    def test(self, name: str) -> t.TestResult | None:
        """The result of one test, if it ran."""
        return next((r for r in self.tests if r.test == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "tests": [r.to_dict() for r in self.tests],
            "drifted": self.drifted,
            "current": self.current,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnDrift:
        tests = [t.TestResult.from_dict(r) for r in data["tests"]]
        return cls(**{**data, "tests": tests})


@dataclass(frozen=True)
class DriftReport:
    """Every column's tests, the share of drifted columns (importance-weighted) and the
    dataset-level verdict.

    Attributes:
        columns: Each column's tests and verdict.
        n_current: The current window's number of rows.
        share_drifted: The share of drifted columns, weighted by importance.
        drifted: The dataset's verdict: ``share_drifted`` reached ``share_threshold``.
        alpha: The level the p-value tests used.
        share_threshold: The share of drifted columns that makes the dataset drifted.
    """

    columns: list[ColumnDrift]
    n_current: int
    share_drifted: float
    drifted: bool
    alpha: float
    share_threshold: float

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def column(self, name: str) -> ColumnDrift:
        for col in self.columns:
            if col.column == name:
                return col
        raise InvalidArgument(f"the report has no column {name!r}", field="column")

    def table(self) -> pd.DataFrame:
        """One row per (column, test)."""
        rows = [
            {"column": c.column, "kind": c.kind, **r.to_dict(), "column_drifted": c.drifted}
            for c in self.columns
            for r in c.tests
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_current": self.n_current,
            "share_drifted": self.share_drifted,
            "drifted": self.drifted,
            "drifted_columns": self.drifted_columns,
            "alpha": self.alpha,
            "share_threshold": self.share_threshold,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        return cls(
            [ColumnDrift.from_dict(c) for c in data["columns"]],
            int(data["n_current"]),
            float(data["share_drifted"]),
            bool(data["drifted"]),
            float(data["alpha"]),
            float(data["share_threshold"]),
        )


class _Numeric:
    """Bin counts, missing count and a uniform reservoir of one numeric column.

    The reservoir keeps the values with the ``size`` smallest random keys seen so far; once
    it is full only values whose key beats the largest kept key can enter, so a chunk is
    filtered before anything is sorted."""

    def __init__(self, profile: ColumnProfile, size: int, rng: np.random.Generator) -> None:
        self.edges = np.asarray(profile.edges, dtype="float64")
        self.counts = np.zeros(len(profile.edges) + 1, dtype="int64")
        self.count = self.missing = 0
        self.size, self.rng = size, rng
        self.keys = np.empty(0)
        self.values = np.empty(0)
        self.cutoff = np.inf

    def add_series(self, series: pd.Series) -> None:
        self.add(numeric_values(series))

    def add_arrow(self, array: Any) -> None:
        self.add(arrow_numeric_values(array))

    def add(self, values: np.ndarray) -> None:
        present = values[~np.isnan(values)]
        self.count += len(values)
        self.missing += len(values) - len(present)
        if len(present) == 0:
            return
        # bin k holds edges[k-1] <= x < edges[k]: one comparison pass per edge is much
        # faster than a binary search per value over so few edges
        below = [np.count_nonzero(present < edge) for edge in self.edges]
        self.counts += np.diff(np.asarray([0, *below, len(present)], dtype="int64"))
        keys = self.rng.random(len(present))
        if self.cutoff < np.inf:
            entering = keys < self.cutoff
            keys, present = keys[entering], present[entering]
        keys = np.concatenate([self.keys, keys])
        vals = np.concatenate([self.values, present])
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, vals = keys[keep], vals[keep]
        if len(keys) == self.size:
            self.cutoff = float(keys.max())
        self.keys, self.values = keys, vals


class _Categorical:
    """Level counts and missing count of one categorical column."""

    def __init__(self) -> None:
        self.levels: dict[str, int] = {}
        self.count = self.missing = 0

    def add_series(self, series: pd.Series) -> None:
        self.add(*level_counts(series), len(series))

    def add_arrow(self, array: Any) -> None:
        self.add(*arrow_level_counts(array), len(array))

    def add(self, levels: Mapping[str, int], missing: int, count: int) -> None:
        self.count += count
        self.missing += missing
        for level, n in levels.items():
            self.levels[level] = self.levels.get(level, 0) + n


def iter_chunks(current: Any, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
    """The current data in chunks: a DataFrame (sliced, DataFrame chunks), Parquet file
    path(s) (Arrow record batches of only ``columns``, text read as dictionaries), or any
    iterable of DataFrames."""
    if isinstance(current, pd.DataFrame):
        for start in range(0, max(len(current), 1), chunk_rows):
            yield current.iloc[start : start + chunk_rows]
        return
    if isinstance(current, str | Path):
        import pyarrow.parquet as pq

        schema = pq.read_schema(str(current))
        _check_columns(columns, schema.names)
        text = dictionary_columns(schema, columns)
        # one row group at a time (Arrow's batch iterator reads far ahead), sliced into
        # batches: memory holds a row group, whatever the file's size
        parquet = pq.ParquetFile(str(current), read_dictionary=text, pre_buffer=False)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=list(columns))
            yield from table.to_batches(max_chunksize=chunk_rows)
        return
    if isinstance(current, Iterable):
        for chunk in current:
            if not isinstance(chunk, pd.DataFrame):
                raise InvalidArgument(
                    f"current data chunks must be DataFrames, got {type(chunk).__name__}",
                    field="current",
                )
            yield chunk
        return
    raise InvalidArgument(
        "current data must be a DataFrame, a Parquet path or an iterable of DataFrames, got "
        f"{type(current).__name__}",
        field="current",
    )


def _check_columns(wanted: Sequence[str], have: Iterable[str]) -> None:
    missing = [c for c in wanted if c not in set(have)]
    if missing:
        raise SchemaError(
            f"the current data is missing column(s) {', '.join(map(repr, missing))} of the "
            "reference; pass columns=[...] to score only the columns you have",
            field=missing[0],
        )


def score(reference: ReferenceProfile, current: Any, options: DriftOptions) -> DriftReport:
    """Test a current window against ``reference``, column by column, streamed in chunks of
    ``options.chunk_rows`` (see :class:`DriftOptions` for the rest)."""
    names = list(reference.columns if options.columns is None else options.columns)
    unknown = [c for c in names if c not in reference.columns]
    if unknown:
        raise InvalidArgument(
            f"the reference profile has no column {', '.join(map(repr, unknown))}",
            field="columns",
        )
    limits = {**t.DEFAULT_THRESHOLDS, **(options.thresholds or {})}
    chosen = chosen_tests(reference, names, options.tests or {})
    rng = np.random.default_rng(options.seed)
    accs: dict[str, _Numeric | _Categorical] = {
        name: _Numeric(reference.columns[name], options.sample_size, rng)
        if reference.columns[name].kind == "numeric"
        else _Categorical()
        for name in names
    }
    rows = 0
    for chunk in iter_chunks(current, names, options.chunk_rows):
        if isinstance(chunk, pd.DataFrame):
            _check_columns(names, chunk.columns)
            for name, acc in accs.items():
                acc.add_series(chunk[name])
        else:  # an Arrow record batch of exactly ``names``
            for name, array in zip(chunk.schema.names, chunk.columns, strict=True):
                accs[name].add_arrow(array)
        rows += len(chunk)
    if rows == 0:
        raise InvalidArgument(
            "the current window has no rows; widen the window or wait for traffic",
            field="current",
        )
    results = [
        _column(reference.columns[n], accs[n], chosen[n], limits, options.alpha) for n in names
    ]
    weights = _weights(names, options.importances)
    total = sum(weights.values())
    if total <= 0:
        raise InvalidArgument("feature importances must give some column a positive weight")
    share = sum(weights[c.column] for c in results if c.drifted) / total
    limit = options.share_threshold
    return DriftReport(results, rows, share, share >= limit, options.alpha, limit)


def _weights(names: Sequence[str], importances: Mapping[str, float] | None) -> dict[str, float]:
    """Each column's weight in the share of drifted columns: 1 each without importances,
    else its importance (0 when not named)."""
    return {
        n: float((importances or {}).get(n, 1.0 if importances is None else 0.0)) for n in names
    }


def chosen_tests(
    reference: ReferenceProfile, names: Sequence[str], overrides: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """The tests of each column: its override, checked against its type, or its type's."""
    chosen: dict[str, tuple[str, ...]] = {}
    for name in names:
        kind = reference.columns[name].kind
        chosen[name] = t.check_tests(name, overrides.get(name, t.tests_for(kind)), kind)
    return chosen


def _column(
    ref: ColumnProfile,
    acc: _Numeric | _Categorical,
    chosen: tuple[str, ...],
    limits: Mapping[str, float],
    alpha: float,
) -> ColumnDrift:
    results: list[t.TestResult] = []
    current: dict[str, Any] = {"count": acc.count, "missing": acc.missing}
    if isinstance(acc, _Numeric):
        ref_sample = np.asarray(ref.sample, dtype="float64")
        spread = ref.stats.get("std", 0.0)
        for name in chosen:
            if name == "ks":
                results.append(t.ks(ref_sample, acc.values, alpha))
            elif name == "wasserstein":
                results.append(t.wasserstein(ref_sample, acc.values, spread, limits[name]))
            else:
                results.append(t.psi(np.asarray(ref.bin_counts), acc.counts, limits[name]))
        current["bin_counts"] = acc.counts.tolist()
        if len(acc.values):
            current["mean"] = float(acc.values.mean())
            current["sample"] = np.sort(acc.values)[:: max(1, len(acc.values) // 500)].tolist()
    elif not ref.high_cardinality:
        levels = list(ref.levels) + sorted(set(acc.levels) - set(ref.levels))
        ref_counts = np.asarray([ref.levels.get(x, 0) for x in levels])
        cur_counts = np.asarray([acc.levels.get(x, 0) for x in levels])
        for name in chosen:
            if name == "chi2":
                results.append(t.chi2(ref_counts, cur_counts, alpha))
            elif name == "jensen_shannon":
                results.append(t.jensen_shannon(ref_counts, cur_counts, limits[name]))
            else:
                results.append(t.psi(ref_counts, cur_counts, limits[name]))
        new = sum(n for x, n in acc.levels.items() if x not in ref.levels)
        results.append(t.new_categories(new, acc.count - acc.missing, limits["new_categories"]))
        top = sorted(acc.levels.items(), key=lambda kv: -kv[1])[:50]
        current["levels"] = dict(top)
    results.append(
        t.missing_share(
            ref.missing, ref.count, acc.missing, acc.count, alpha, limits["missing_share"]
        )
    )
    return ColumnDrift(
        ref.name, ref.kind, ref.count, acc.count, results, _verdict(results), current
    )


def _verdict(results: Sequence[t.TestResult]) -> bool:
    """The rule in the module docstring."""
    by_name = {r.test: r for r in results}
    pvalue = [by_name[n] for n in t.PVALUE_TESTS if n in by_name]
    effect = [by_name[n] for n in t.EFFECT_TESTS if n in by_name]
    shifted = bool(pvalue or effect)
    if pvalue:
        shifted = shifted and all(r.verdict for r in pvalue)
    if effect:
        shifted = shifted and effect[0].verdict
    extra = [by_name[n].verdict for n in ("missing_share", "new_categories") if n in by_name]
    return shifted or any(extra)


def with_column_thresholds(
    report: DriftReport,
    per_column: Mapping[str, Mapping[str, float]],
    importances: Mapping[str, float] | None,
) -> DriftReport:
    """The report with per-column thresholds applied: those columns' tests and verdicts
    judged again, and the (importance-weighted) share of drifted columns recomputed."""
    if not per_column:
        return report
    columns = []
    for column in report.columns:
        limits = per_column.get(column.column, {})
        if not limits:
            columns.append(column)
            continue
        tests = [
            t.held_to(r, limits[r.test], report.alpha) if r.test in limits else r
            for r in column.tests
        ]
        columns.append(replace(column, tests=tests, drifted=_verdict(tests)))
    weights = _weights([c.column for c in columns], importances)
    total = sum(weights.values()) or 1.0
    share = sum(weights[c.column] for c in columns if c.drifted) / total
    return replace(
        report, columns=columns, share_drifted=share, drifted=share >= report.share_threshold
    )
