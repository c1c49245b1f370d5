"""A metric's history reduced in the database: at most N points of one (run, key) series,
picked by SQL so that a 100,000-point history never leaves the database whole.

The series is cut into buckets of equal width on its x axis (step, or timestamp) by
``GROUP BY x / width``; each bucket keeps up to four real points: its first and last (by x)
and the first points holding its lowest and highest value (NaN is stored as NULL and is
never an extreme), so the drawn line keeps both its outline and its spikes. The grouping
walks the metrics' covering index (run, key, step, timestamp, id, value); each pick is a
correlated ``LIMIT 1`` lookup bounded by the bucket's step range, so it walks the same
index: neither reads a table row (SQLite's plan says ``USING COVERING INDEX``), and only
the kept rows are then read by id. The same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import BigInteger, Connection, func, literal_column, select

from shipyard.entities import MetricPoint, MetricSample
from shipyard.store._models.tracking import METRICS
from shipyard.store._sql import chunks
from shipyard.store._tracking import require_run

#: The x axes a history can be bucketed on.
AXES = ("step", "time")
_INT64 = 2**63 - 1
#: A bucket's picks: first, last, lowest, highest (row ids; None when the bucket has no
#: finite value for an extreme).
_Picks = tuple[int, int, int | None, int | None]
#: A row: (id, value, step, timestamp); the value None for a logged NaN.
_Row = tuple[int, Any, int, int]
#: A bucket's picked rows, in the order of ``_Picks``.
_Bucket = tuple[_Row, _Row, _Row | None, _Row | None]


def sampled_history(
    conn: Connection, run_id: str, key: str, max_points: int, axis: str = "step"
) -> MetricSample:
    """At most ``max_points`` (2 or more) points of the run's ``key`` history, in x order
    (``axis`` ``step`` or ``time``); every point when there are few enough. NotFound for
    an unknown run."""
    require_run(conn, run_id)
    x, other = _axis_columns(axis)
    where = (METRICS.c.run_id == run_id, METRICS.c.key == key)
    total, low, high = conn.execute(
        select(func.count(), func.min(x), func.max(x)).where(*where)
    ).one()
    if total <= max_points:
        every = conn.execute(
            select(METRICS.c.value, METRICS.c.step, METRICS.c.timestamp)
            .where(*where)
            .order_by(x, other, METRICS.c.id)
        )
        return MetricSample(key, axis, total, [_point(key, *row) for row in every])
    per_bucket = 4 if max_points >= 4 else 2
    buckets = max(1, max_points // per_bucket - 2)  # truncation adds up to two more keys
    width = min(_INT64, -(-(high - low + 1) // buckets))
    if conn.dialect.name == "postgresql":
        # the planner cannot know how few buckets the grouping makes and costs the picks for
        # one bucket per row: high enough to JIT-compile the query, which alone costs more
        # than the query (about a second); for this transaction only
        conn.exec_driver_sql("SET LOCAL jit = off")
    picks = _bucket_picks(conn, run_id, key, axis, width)
    rows = _rows_by_id(conn, [i for p in picks for i in p if i is not None])
    found: list[_Bucket] = [
        ((a, *rows[a]), (b, *rows[b]), _row(lo, rows), _row(hi, rows)) for a, b, lo, hi in picks
    ]
    kept: list[_Row] = []
    for first, last, lowest, highest in _merged(found, max_points // per_bucket):
        extremes = {r for r in (lowest, highest) if r is not None}
        chosen = extremes | {first, last} if per_bucket == 4 or not extremes else extremes
        kept += sorted(chosen, key=lambda r: _order(r, axis))
    return MetricSample(key, axis, total, [_point(key, *r[1:]) for r in kept])


def _axis_columns(axis: str) -> tuple[Any, Any]:
    """(x, tie-breaker) columns of ``axis``."""
    if axis == "step":
        return METRICS.c.step, METRICS.c.timestamp
    if axis == "time":
        return METRICS.c.timestamp, METRICS.c.step
    raise ValueError(f"axis must be one of {AXES}, got {axis!r}")


def _bucket_picks(conn: Connection, run_id: str, key: str, axis: str, width: int) -> list[_Picks]:
    """Per bucket of ``width`` on the x axis, in x order, the ids of its picks."""
    x, _ = _axis_columns(axis)
    where = (METRICS.c.run_id == run_id, METRICS.c.key == key)
    # integer division (truncating) keeps buckets in x order on both databases; the width
    # is an int computed here, inlined so that SELECT and GROUP BY share one expression
    bucket = (x // literal_column(str(int(width)), BigInteger)).label("bucket")
    grouped = (
        select(
            bucket,
            func.min(x).label("x0"),
            func.max(x).label("x1"),
            func.min(METRICS.c.step).label("s0"),
            func.max(METRICS.c.step).label("s1"),
            func.min(METRICS.c.value).label("lo"),
            func.max(METRICS.c.value).label("hi"),
        )
        .where(*where)
        .group_by(bucket)
        .subquery("buckets")
    )
    m = METRICS.alias("m")
    mx, mother = (m.c.step, m.c.timestamp) if axis == "step" else (m.c.timestamp, m.c.step)
    # a bucket's rows lie in its step range: on the step axis that range is the bucket
    # itself, so the first and last picks are an index seek on the step; on the time axis
    # the step range bounds the index walk and the time bounds filter it
    steps = (m.c.step >= grouped.c.s0, m.c.step <= grouped.c.s1)
    span = steps if axis == "step" else (*steps, mx >= grouped.c.x0, mx <= grouped.c.x1)
    edge = () if axis == "step" else steps

    def pick(*condition: Any, last: bool = False) -> Any:
        order = (mx, mother, m.c.id)
        return (
            select(m.c.id)
            .where(m.c.run_id == run_id, m.c.key == key, *condition)
            .order_by(*(c.desc() for c in order) if last else order)
            .limit(1)
            .scalar_subquery()
        )

    statement = (
        select(
            pick(mx == grouped.c.x0, *edge),
            pick(mx == grouped.c.x1, *edge, last=True),
            pick(m.c.value == grouped.c.lo, *span),
            pick(m.c.value == grouped.c.hi, *span),
        )
        .select_from(grouped)
        .order_by(grouped.c.x0)
    )
    return [(int(a), int(b), c, d) for a, b, c, d in conn.execute(statement)]


def _merged(buckets: list[_Bucket], most: int) -> list[_Bucket]:
    """``buckets`` with neighbours merged until at most ``most`` (at least 1) remain (only a
    very small ``max_points`` needs it): the first of the first, the last of the last, and
    the lowest and highest of all (the earlier one on a tie)."""
    most = max(1, most)
    if len(buckets) <= most:
        return buckets
    size = math.ceil(len(buckets) / most)
    merged = []
    for lo in range(0, len(buckets), size):
        group = buckets[lo : lo + size]
        lows = [b[2] for b in group if b[2] is not None]
        highs = [b[3] for b in group if b[3] is not None]
        lowest = min(lows, key=lambda r: r[1]) if lows else None
        highest = max(reversed(highs), key=lambda r: r[1]) if highs else None
        merged.append((group[0][0], group[-1][1], lowest, highest))
    return merged


def _rows_by_id(conn: Connection, ids: list[int]) -> dict[int, tuple[Any, int, int]]:
    """(value, step, timestamp) of each row id."""
    found: dict[int, tuple[Any, int, int]] = {}
    for part in chunks(sorted(set(ids))):
        query = select(METRICS.c.id, METRICS.c.value, METRICS.c.step, METRICS.c.timestamp).where(
            METRICS.c.id.in_(part)
        )
        for i, value, step, timestamp in conn.execute(query):
            found[i] = (value, step, timestamp)
    return found


def _row(row_id: int | None, rows: dict[int, tuple[Any, int, int]]) -> _Row | None:
    return None if row_id is None else (row_id, *rows[row_id])


def _order(row: _Row, axis: str) -> tuple[int, int, int]:
    row_id, _, step, timestamp = row
    return (step, timestamp, row_id) if axis == "step" else (timestamp, step, row_id)


def _point(key: str, value: float | None, step: int, timestamp: int) -> MetricPoint:
    return MetricPoint(key, math.nan if value is None else value, step, timestamp)
