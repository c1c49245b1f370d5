"""Training data: ``get_historical_features`` (point-in-time correct), and saving the
result as a dataset version linked to its feature views in the lineage graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from shipyard.client import Store
from shipyard.entities import DatasetVersion, LineageEdge, LineageNode
from shipyard.errors import InvalidArgument
from shipyard.features._definitions import FeatureService
from shipyard.features._offline import ROW, TS, connect, point_in_time_join
from shipyard.features._registry import Plan, make_plan, registry

if TYPE_CHECKING:
    import pyarrow as pa

Output = Literal["pandas", "arrow", "polars"]
_OUTPUTS = ("pandas", "arrow", "polars")


def _store(store: Store | None) -> Store:
    if store is not None:
        return store
    from shipyard.tracking import get_client

    return get_client().store


def entity_table(
    entity_df: Any, timestamp_column: str, join_keys: Sequence[str], store: Store
) -> tuple[pa.Table, bool, DatasetVersion | None]:
    """The entity rows as Arrow with ROW and TS added; whether its times are tz-aware; and
    the dataset version it came from (when a ``"name@3"`` reference was given)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    source: DatasetVersion | None = None
    if isinstance(entity_df, str | DatasetVersion):
        from shipyard import data

        source = data.get(entity_df) if isinstance(entity_df, str) else entity_df
        entity_df = data.load(source, "arrow", store=store)
    _check_uniform_zones(entity_df, timestamp_column)
    table = _as_arrow(entity_df)
    missing = [c for c in (*join_keys, timestamp_column) if c not in table.column_names]
    if missing:
        raise InvalidArgument(
            f"the entity frame has no column {missing[0]!r}: it needs the join keys "
            f"({', '.join(join_keys)}) and the timestamp column {timestamp_column!r}; its "
            f"columns are {', '.join(table.column_names)}",
            field=missing[0],
        )
    clash = [c for c in table.column_names if c in (ROW, TS)]
    if clash:
        raise InvalidArgument(f"the entity frame may not have a column named {clash[0]!r}")
    stamps = table.column(timestamp_column)
    kind = stamps.type
    if pa.types.is_date(kind):
        stamps, kind = stamps.cast(pa.timestamp("us")), pa.timestamp("us")
    if not pa.types.is_timestamp(kind):
        raise InvalidArgument(
            f"entity column {timestamp_column!r} must hold timestamps, got {kind}; convert it "
            "(pandas: pd.to_datetime(...)), and keep all values naive or all timezone-aware",
            field=timestamp_column,
        )
    if stamps.null_count:
        raise InvalidArgument(
            f"entity column {timestamp_column!r} has {stamps.null_count} missing timestamps; "
            "every entity row needs a time",
            field=timestamp_column,
        )
    micros = pc.cast(stamps.cast(pa.timestamp("us", kind.tz)), pa.int64())
    table = table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))
    table = table.append_column(TS, micros)
    return table, kind.tz is not None, source


def _check_uniform_zones(frame: Any, column: str) -> None:
    """Refuse a pandas column that mixes naive and timezone-aware timestamps."""
    values = getattr(frame, "get", lambda _: None)(column)
    if values is None or str(getattr(values, "dtype", "")) != "object":
        return
    kinds = {getattr(v, "tzinfo", None) is None for v in values if hasattr(v, "tzinfo")}
    if len(kinds) > 1:
        raise InvalidArgument(
            f"entity column {column!r} mixes naive and timezone-aware timestamps; make them "
            "uniform (pandas: pd.to_datetime(column, utc=True))",
            field=column,
        )


def _as_arrow(frame: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    module = type(frame).__module__
    if module.startswith("polars"):
        return frame.to_arrow()
    if module.startswith("pandas"):
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidArgument(
                f"the entity frame cannot be read: {exc}; a column mixing naive and "
                "timezone-aware timestamps must be made uniform first",
                field="entity_df",
            ) from None
    raise InvalidArgument(
        "entity_df must be a pandas or polars DataFrame, a PyArrow Table or a dataset "
        f"reference 'name@3', got {type(frame).__name__}",
        field="entity_df",
    )


def convert(table: pa.Table, output: Output) -> Any:
    """An Arrow table as pandas, Arrow or Polars."""
    if output == "arrow":
        return table
    if output == "polars":
        try:
            import polars as pl  # type: ignore[import-not-found]
        except ImportError:
            raise InvalidArgument(
                "output='polars' needs polars installed (`pip install polars`)", field="output"
            ) from None
        return pl.from_arrow(table)
    return table.to_pandas()


def apply_on_demand(table: pa.Table, plan: Plan) -> pa.Table:
    """Append the on-demand views' outputs (as ``view__feature`` columns)."""
    import pyarrow as pa

    for odv in plan.on_demand:
        inputs = {
            feature: table.column(f"{source}__{feature}")
            for source in odv.sources
            for feature in plan.views[source]
        }
        result = odv.call(pa.table(inputs).to_pandas())
        for feature in odv.features:
            table = table.append_column(
                f"{odv.name}__{feature}", pa.array(result[feature], from_pandas=True)
            )
    return table


def select_outputs(table: pa.Table, plan: Plan, keep: Sequence[str]) -> pa.Table:
    """The entity columns ``keep`` then the requested features under their output names."""
    columns = [table.column(c) for c in keep]
    names = list(keep)
    for view, feature, name in plan.outputs:
        if name in names:
            raise InvalidArgument(
                f"feature {name!r} has the name of an entity column; rename that column or "
                "pass full_feature_names=True",
                field="features",
            )
        columns.append(table.column(f"{view}__{feature}"))
        names.append(name)
    import pyarrow as pa

    return pa.Table.from_arrays(columns, names=names)


def get_historical_features(
    entity_df: Any,
    features: Sequence[str] | FeatureService | str,
    *,
    timestamp_column: str = "event_timestamp",
    full_feature_names: bool = False,
    output: Output = "pandas",
    save_as: str | None = None,
    store: Store | None = None,
) -> Any:
    """Training data: for each entity row, the latest feature values at or before its
    timestamp and within each view's TTL (never a value from the future).

    Every entity row comes back, in order, with its columns first; values not found
    (unknown entity, nothing before the time, or older than the TTL) are null.

    Args:
        entity_df: The entity rows: a pandas/polars DataFrame, an Arrow table, or a dataset
            reference (``"labels@3"``), with the join keys and ``timestamp_column``.
        features: A list of ``"view:feature"``, a FeatureService, or a service's name.
        timestamp_column: The column of ``entity_df`` holding each row's point in time.
        full_feature_names: Name the feature columns ``view__feature`` (needed when two
            views have a feature of the same name).
        output: ``"pandas"``, ``"arrow"`` or ``"polars"``.
        save_as: Register the result as a version of this dataset, with lineage edges from
            the feature views and the entity data.
        store: The store to read; by default the configured client's.

    Returns:
        The entity rows with one column per requested feature, as ``output`` says.

    Raises:
        InvalidArgument: An unknown ``output``, a malformed feature reference, a feature
            name requested twice without ``full_feature_names``, or entity rows without a
            join key or ``timestamp_column``.
        NotFound: An unknown view, feature or service.
    """
    if output not in _OUTPUTS:
        raise InvalidArgument(
            f"output must be one of {', '.join(_OUTPUTS)}, got {output!r}", field="output"
        )
    target = _store(store)
    plan = make_plan(features, registry(target), full_feature_names=full_feature_names)
    entity, aware, source = entity_table(entity_df, timestamp_column, plan.join_keys, target)
    keep = [c for c in entity.column_names if c not in (ROW, TS)]
    con = connect()
    try:
        joined = point_in_time_join(con, entity, aware, plan, target)
    finally:
        con.close()
    result = select_outputs(apply_on_demand(joined, plan), plan, keep)
    nodes = [LineageNode("feature_view", name) for name in plan.specs]
    _record_use(target, nodes)
    if save_as is not None:
        save_training_set(target, result, save_as, nodes, source)
    return convert(result, output)


def _record_use(store: Store, views: list[LineageNode]) -> None:
    """Inside a run or pipeline step: ``consumed`` edges from the feature views to it."""
    from shipyard.data import current_actors

    actors = current_actors()
    if actors and views:
        store.add_lineage_edges([LineageEdge(v, a, "consumed") for v in views for a in actors])


def save_training_set(
    store: Store,
    table: pa.Table,
    name: str,
    views: list[LineageNode],
    source: DatasetVersion | None,
) -> DatasetVersion:
    """Register a retrieval as a dataset version, produced by its views and entity data."""
    from shipyard import data

    version = data.register(name, table, description="point-in-time training set", store=store)
    node = LineageNode("dataset_version", version.id)
    upstream = [*views, *([LineageNode("dataset_version", source.id)] if source else [])]
    store.add_lineage_edges([LineageEdge(u, node, "produced") for u in upstream])
    return version
