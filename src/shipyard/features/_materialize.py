"""Materialization: copy each entity's latest feature values in an event-time window from
the offline source into the online store, and remember the window (the watermark)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from shipyard.client import Store
from shipyard.entities import FeatureMaterialization
from shipyard.errors import InvalidArgument
from shipyard.features._offline import (
    arrow_batches,
    connect,
    latest_sql,
    literal,
    source_schema,
)
from shipyard.features._online import encode_key, online_store
from shipyard.features._registry import registry
from shipyard.features._retrieval import _store

#: ``progress(view, rows_written, rows_total)``.
Progress = Callable[[str, int, int], None]
BATCH_ROWS = 20_000


def to_ms(when: datetime | None, default: int) -> int:
    """Epoch milliseconds of a datetime (naive means UTC)."""
    if when is None:
        return default
    if not isinstance(when, datetime):
        raise InvalidArgument(f"expected a datetime, got {when!r}", field="window")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _views(store: Store, views: Sequence[str] | None) -> list[str]:
    reg = registry(store, fresh=True)
    names = list(views) if views else [n for n in reg.views() if reg.view(n).online]
    for name in names:
        reg.view(name)  # NotFound for an unknown view
    return names


def materialize_view(
    store: Store, view: str, start_ms: int, end_ms: int, progress: Progress | None = None
) -> FeatureMaterialization:
    """Write the latest values per entity with event time in ``[start, end)`` online.

    DuckDB picks each entity's latest row (one hash aggregation) and encodes its values as
    JSON; Python only encodes the keys and hands batches to the online store, which keeps
    newer values already there.
    """
    spec = registry(store).view(view)
    online = online_store(store.settings)  # type: ignore[attr-defined]
    features = list(spec.features)
    con = connect()
    try:
        columns = source_schema(con, spec, store)
        where = f"{{t}} >= {start_ms * 1000} AND {{t}} < {end_ms * 1000}"
        con.execute(
            f"CREATE TEMP TABLE latest AS {latest_sql(spec, features, columns, store, where)}"
        )
        total = int(con.sql("SELECT count(*) FROM latest").fetchall()[0][0])
        if progress is not None:
            progress(view, 0, total)
        nkeys = len(spec.join_keys)
        keys = ", ".join(f"m_k{i}" for i in range(nkeys))
        values = ", ".join(
            f"{literal(f)}: {_json_safe(f'm_f{i}', spec.features[f])}"
            for i, f in enumerate(features)
        )
        reader = arrow_batches(
            con.sql(f"SELECT {keys}, m_t, encode(to_json({{{values}}})) FROM latest"), BATCH_ROWS
        )
        done = 0
        for batch in reader:
            cols = [c.to_pylist() for c in batch.columns]
            encoded = [encode_key(k) for k in zip(*cols[:nkeys], strict=True)]
            done += online.write(view, zip(encoded, cols[nkeys], cols[nkeys + 1], strict=True))
            if progress is not None:
                progress(view, done, total)
    finally:
        con.close()
    return store.record_feature_materialization(view, start_ms, end_ms, done)


def _json_safe(column: str, dtype: str) -> str:
    """A feature column as JSON can hold it: NaN and infinities become null (as orjson
    writes them), other values as they are."""
    if dtype.startswith("float"):
        return f"CASE WHEN isfinite({column}) THEN {column} END"
    return column


def materialize(
    start: datetime | None = None,
    end: datetime | None = None,
    views: Sequence[str] | None = None,
    *,
    store: Store | None = None,
    progress: Progress | None = None,
) -> list[FeatureMaterialization]:
    """Materialize feature values over ``[start, end)`` into the online store.

    Args:
        start: The window's start; the beginning of history when None.
        end: The window's end (excluded); now when None.
        views: The feature views to materialize; every online view when None.
        store: The store whose definitions and online store are used; by default the
            configured client's.
        progress: Called as ``progress(view, rows_written, rows_total)`` while writing.

    Returns:
        One materialization record per view (its window and rows written).

    Raises:
        InvalidArgument: The window ends before it starts.
        NotFound: A named view does not exist.
    """
    target = _store(store)
    start_ms = to_ms(start, 0)
    end_ms = to_ms(end, int(time.time() * 1000))
    if end_ms < start_ms:
        raise InvalidArgument("the materialization window ends before it starts", field="end")
    return [
        materialize_view(target, name, start_ms, end_ms, progress) for name in _views(target, views)
    ]


def materialize_incremental(
    end: datetime | None = None,
    views: Sequence[str] | None = None,
    *,
    store: Store | None = None,
    progress: Progress | None = None,
) -> list[FeatureMaterialization]:
    """Materialize each view from its watermark (the end of its last window; all history
    the first time) up to ``end`` (default: now)."""
    target = _store(store)
    end_ms = to_ms(end, int(time.time() * 1000))
    done = []
    for name in _views(target, views):
        last = target.list_feature_materializations(name, limit=1)
        start_ms = min(last[0].end, end_ms) if last else 0
        done.append(materialize_view(target, name, start_ms, end_ms, progress))
    return done
