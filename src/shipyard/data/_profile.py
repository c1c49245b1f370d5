"""Column profiles of a Parquet file, computed by DuckDB in streaming scans.

One scan computes every column's counts, nulls, approximate distinct count, min/max, mean,
standard deviation and approximate quantiles; text and boolean columns get a second small
query each for their most frequent values. Nothing is loaded whole, so files larger than
memory profile fine.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_KEYS = ("p5", "p25", "p50", "p75", "p95")
TOP_VALUES = 5
MAX_TOP_COLUMNS = 100


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(arrow_type: pa.DataType) -> str:
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        return _kind(arrow_type.value_type)
    if t.is_boolean(arrow_type):
        return "bool"
    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "number"
    if t.is_temporal(arrow_type) and not t.is_duration(arrow_type):
        return "time"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "text"
    return "other"


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a DuckDB result value."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def profile_parquet(path: Path, schema: pa.Schema) -> dict[str, dict[str, Any]]:
    """``{column: {type, count, nulls, null_fraction, distinct, min, max, ...}}``."""
    import duckdb
    import pyarrow.types as t

    con = duckdb.connect()
    try:
        source = f"read_parquet({_quote_literal(str(path))})"
        kinds = {f.name: _kind(f.type) for f in schema}
        # Time-zone-aware timestamps come back as text in UTC: fetching them as Python
        # datetimes would need pytz, and the profile stores text anyway.
        con.execute("SET TimeZone = 'UTC'")
        aware = {f.name for f in schema if t.is_timestamp(f.type) and f.type.tz}
        parts = ["count(*)"]
        for name, kind in kinds.items():
            q = _quote(name)
            parts += [f"count({q})", f"approx_count_distinct({q})"]
            if name in aware:
                parts += [f"min({q})::VARCHAR", f"max({q})::VARCHAR"]
            elif kind in ("number", "time", "bool"):
                parts += [f"min({q})", f"max({q})"]
            if kind == "number":
                quantiles = ", ".join(str(p) for p in QUANTILES)
                parts += [
                    f"avg({q}::DOUBLE)",
                    f"stddev_samp({q}::DOUBLE)",
                    f"approx_quantile({q}::DOUBLE, [{quantiles}])",
                ]
            if kind == "text":
                parts += [f"min(length({q}))", f"max(length({q}))"]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
        assert row is not None
        values = iter(row)
        total = int(next(values))
        profile: dict[str, dict[str, Any]] = {}
        for field in schema:
            kind = kinds[field.name]
            count = int(next(values))
            stats: dict[str, Any] = {
                "type": str(field.type),
                "kind": kind,
                "count": count,
                "nulls": total - count,
                "null_fraction": (total - count) / total if total else 0.0,
                "distinct": int(next(values) or 0),
            }
            if kind in ("number", "time", "bool"):
                stats["min"], stats["max"] = _plain(next(values)), _plain(next(values))
            if kind == "number":
                stats["mean"], stats["std"] = _plain(next(values)), _plain(next(values))
                points = next(values) or [None] * len(QUANTILES)
                stats["quantiles"] = {
                    k: _plain(v) for k, v in zip(QUANTILE_KEYS, points, strict=True)
                }
            if kind == "text":
                stats["min_length"], stats["max_length"] = next(values), next(values)
            profile[field.name] = stats
        top_columns = [n for n, k in kinds.items() if k in ("text", "bool")][:MAX_TOP_COLUMNS]
        for name in top_columns:
            q = _quote(name)
            rows = con.execute(
                f"SELECT {q}, count(*) AS n FROM {source} WHERE {q} IS NOT NULL "
                f"GROUP BY {q} ORDER BY n DESC, {q} LIMIT {TOP_VALUES}"
            ).fetchall()
            profile[name]["top"] = [[_plain(v), int(n)] for v, n in rows]
        return profile
    finally:
        con.close()


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
