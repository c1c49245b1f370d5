"""The offline store: feature-view sources as DuckDB relations, their schema checks, and the
point-in-time (ASOF) join that builds training data.

Every timestamp is compared as integer microseconds since the epoch: timezone-aware columns
by their instant, naive ones as they read (as if UTC). Mixing the two is refused, since a
naive time has no instant to compare with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.client import Store
from shipyard.errors import InvalidArgument, SchemaError
from shipyard.features._definitions import DTYPES
from shipyard.features._registry import Plan, ViewSpec

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ROW, TS = "__shipyard_row", "__shipyard_ts"
_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_CATEGORY = {
    **dict.fromkeys((*_INTS, "UBIGINT", "HUGEINT"), "int"),
    **dict.fromkeys(("FLOAT", "DOUBLE"), "float"),
    "VARCHAR": "string",
    "BOOLEAN": "bool",
}
#: Declared type -> the source categories it accepts (an integer column may feed a float).
_ACCEPTS = {
    "int64": {"int"},
    "int32": {"int"},
    "float64": {"float", "int"},
    "float32": {"float", "int"},
    "string": {"string"},
    "bool": {"bool"},
}
_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE")
_AWARE = "TIMESTAMP WITH TIME ZONE"
#: Below every epoch-µs value DuckDB can hold (its earliest timestamp is about -9.22e18 + 1.4e10),
#: and one above it stands for a missing created timestamp, which loses every tie.
_LOWEST = "-9223372036854775807"
_NO_CREATED = "-9223372036854775806"
_GLOB = "*?[{"


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def category(duck_type: str) -> str:
    """``int``, ``float``, ``string``, ``bool``, ``timestamp`` or the type itself."""
    if duck_type.startswith("DECIMAL"):
        return "float"
    if duck_type in _TIMESTAMPS or duck_type == _AWARE:
        return "timestamp"
    return _CATEGORY.get(duck_type, duck_type)


def source_relation(spec: ViewSpec, store: Store) -> tuple[str, list[tuple[str, str]]]:
    """The view's source as a FROM clause, and the terms that break ties between rows of one
    entity and event time after the created timestamp (the greater wins: the later file,
    then the later row), each with a literal below any value it can take."""
    source = spec.source
    kind = source.get("type")
    if kind == "file":
        path = str(source["path"])
        if not any(c in path for c in _GLOB):  # one file: its row number breaks ties
            clause = f"read_parquet({literal(path)}, file_row_number=true)"
            return clause, [("file_row_number", _LOWEST)]
        clause = f"read_parquet({literal(path)}, filename='__shipyard_file', file_row_number=true)"
        return clause, [("__shipyard_file", "''"), ("file_row_number", _LOWEST)]
    if kind == "dataset":
        from shipyard.data import parse_ref

        name, number = parse_ref(source["ref"])
        version = store.get_dataset_version(name, number)
        path = literal(str(store.fetch_blob(version.content_hash)))
        return f"read_parquet({path}, file_row_number=true)", [("file_row_number", _LOWEST)]
    if kind == "sql":
        query = str(source["query"]).strip().rstrip(";")
        clause = f"(SELECT *, row_number() OVER () AS __shipyard_pos FROM ({query}))"
        return clause, [("__shipyard_pos", _LOWEST)]
    raise InvalidArgument(f"feature view {spec.name!r} has an unknown source type {kind!r}")


def source_schema(con: duckdb.DuckDBPyConnection, spec: ViewSpec, store: Store) -> dict[str, str]:
    """Check a view's source against its definition; returns column -> DuckDB type.

    Raises SchemaError naming the column when a join key, timestamp or feature is missing or
    has a type the definition does not accept.
    """
    clause, _ = source_relation(spec, store)
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {clause}").fetchall()
    except Exception as exc:
        raise SchemaError(
            f"cannot read the source of feature view {spec.name!r}: {str(exc).splitlines()[0]}",
            field="source",
        ) from None
    columns = {str(row[0]): str(row[1]) for row in described}
    wanted = [*spec.join_keys, spec.timestamp_field, *spec.features]
    if spec.created_field:
        wanted.append(spec.created_field)
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise SchemaError(
            f"the source of feature view {spec.name!r} has no column {missing[0]!r}; its "
            f"columns are {', '.join(columns)}",
            field=missing[0],
        )
    for column in filter(None, (spec.timestamp_field, spec.created_field)):
        if category(columns[column]) != "timestamp":
            raise SchemaError(
                f"feature view {spec.name!r}: column {column!r} must be a timestamp, but the "
                f"source has {columns[column]}",
                field=column,
            )
    for feature, dtype in spec.features.items():
        if category(columns[feature]) not in _ACCEPTS[dtype]:
            raise SchemaError(
                f"feature view {spec.name!r}: feature {feature!r} is declared {dtype} but the "
                f"source column is {columns[feature]}; fix the Field type or the data",
                field=feature,
            )
    return columns


def _epoch(column: str, duck_type: str) -> str:
    if duck_type in ("DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return f"epoch_us(CAST({quote(column)} AS TIMESTAMP))"
    return f"epoch_us({quote(column)})"


def view_sql(
    spec: ViewSpec,
    features: list[str],
    columns: dict[str, str],
    store: Store,
    *,
    alias: str,
    where: str = "",
) -> tuple[str, str]:
    """SELECT of a view's source, and the ASOF condition that picks its row for an entity row.

    The SELECT has keys as ``{alias}_k{i}``, the event time in epoch µs as ``{alias}_t``,
    features cast to their declared type as ``{alias}_f{i}``, and ``{alias}_o``: the row's
    rank among rows of its entity, a struct (event time, created time, ties...) whose
    greatest value is the row that wins. The condition (on the entity frame ``e`` with its
    time in TS) takes the greatest rank below (TS + 1, lowest...), that is the latest event
    time at or before TS and, among rows at that time, the latest created, then the later
    file and row: ties resolve inside the join, with no pass over the source to remove them.
    """
    clause, ties = source_relation(spec, store)
    event = _epoch(spec.timestamp_field, columns[spec.timestamp_field])
    keys = [quote(k) for k in spec.join_keys]
    select = [f"{k} AS {alias}_k{i}" for i, k in enumerate(keys)]
    select.append(f"{event} AS {alias}_t")
    select += [
        f"CAST({quote(f)} AS {DTYPES[spec.features[f]]}) AS {alias}_f{i}"
        for i, f in enumerate(features)
    ]
    rank, lowest = [event], []
    if spec.created_field:
        created = _epoch(spec.created_field, columns[spec.created_field])
        rank.append(f"coalesce({created}, {_NO_CREATED})")
        lowest.append(_LOWEST)
    rank += [term for term, _ in ties]
    lowest += [low for _, low in ties]
    select.append(f"({', '.join(rank)}) AS {alias}_o")
    filters = [f"{event} IS NOT NULL", *(f"{k} IS NOT NULL" for k in keys)]
    if where:
        filters.append(where.format(t=event))
    sql = f"SELECT {', '.join(select)} FROM {clause} WHERE {' AND '.join(filters)}"
    below = f"(e.{TS} + 1, {', '.join(f'CAST({low} AS {_type(low)})' for low in lowest)})"
    return sql, f"{below} > {alias}.{alias}_o"


def latest_sql(
    spec: ViewSpec, features: list[str], columns: dict[str, str], store: Store, where: str
) -> str:
    """The latest row of each entity among the source rows ``where`` selects: its keys
    (``m_k{i}``), event time in epoch µs (``m_t``) and features (``m_f{i}``), ties resolved
    as in :func:`view_sql` (one hash aggregation, no sort)."""
    sql, _ = view_sql(spec, features, columns, store, alias="m", where=where)
    keys = [f"m_k{i}" for i in range(len(spec.join_keys))]
    packed = ", ".join(["m_t := m_t", *(f"m_f{i} := m_f{i}" for i in range(len(features)))])
    latest = f"arg_max(struct_pack({packed}), m_o)"
    return f"SELECT {', '.join(keys)}, unnest({latest}) FROM ({sql}) GROUP BY {', '.join(keys)}"


def _type(low: str) -> str:
    return "VARCHAR" if low.startswith("'") else "BIGINT"


def check_key_types(entity: pa.Table, spec: ViewSpec, columns: dict[str, str]) -> None:
    """Refuse an entity frame whose join key types cannot match the source's."""
    import pyarrow as pa

    for key in spec.join_keys:
        kind = entity.schema.field(key).type
        if pa.types.is_null(kind):
            continue
        ours = (
            "int"
            if pa.types.is_integer(kind)
            else "string"
            if pa.types.is_string(kind) or pa.types.is_large_string(kind)
            else "other"
        )
        theirs = category(columns[key])
        if ours != theirs and {ours, theirs} <= {"int", "string", "float", "bool"}:
            raise SchemaError(
                f"join key {key!r} is {kind} in the entity frame but {columns[key]} in the "
                f"source of feature view {spec.name!r}; convert one to match",
                field=key,
            )


def check_awareness(aware: bool, spec: ViewSpec, columns: dict[str, str]) -> None:
    """Refuse comparing timezone-aware entity times with a naive source, or the reverse."""
    theirs = columns[spec.timestamp_field] == _AWARE
    if aware != theirs:
        side = "timezone-aware" if aware else "naive (no timezone)"
        other = "naive" if aware else "timezone-aware"
        raise InvalidArgument(
            f"the entity timestamps are {side} but {spec.name}.{spec.timestamp_field} is "
            f"{other}: naive and aware times cannot be compared; localize the naive ones "
            "(pandas: .dt.tz_localize('UTC'))",
            field="timestamp",
        )


def point_in_time_join(
    con: duckdb.DuckDBPyConnection,
    entity: pa.Table,
    aware: bool,
    plan: Plan,
    store: Store,
) -> pa.Table:
    """For each entity row, the latest values at or before its time within each view's TTL.

    ``entity`` carries ROW (its order) and TS (epoch µs). Returns the entity columns (without
    ROW and TS) followed by one column per requested feature (``view__feature`` internally),
    in entity-row order; values not found are null.
    """
    con.register("__shipyard_entity", entity)
    con.execute("SET preserve_insertion_order = false")  # the query orders its result
    import pyarrow.compute as pc

    bounds = pc.min_max(entity.column(TS))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    ctes, joins, outputs = [], [], []
    for i, (name, features) in enumerate(plan.views.items()):
        spec = plan.specs[name]
        columns = source_schema(con, spec, store)
        check_key_types(entity, spec, columns)
        check_awareness(aware, spec, columns)
        alias = f"v{i}"
        where = ""
        if low is not None:
            lower = low - spec.ttl_us if spec.ttl_us is not None else None
            where = f"{{t}} <= {int(high)}"
            if lower is not None:
                where += f" AND {{t}} >= {int(lower)}"
        sql, below = view_sql(spec, features, columns, store, alias=alias, where=where)
        ctes.append(f"{alias} AS ({sql})")
        on = [f"e.{quote(k)} = {alias}.{alias}_k{j}" for j, k in enumerate(spec.join_keys)]
        on.append(below)
        joins.append(f"ASOF LEFT JOIN {alias} ON {' AND '.join(on)}")
        valid = f"{alias}.{alias}_t IS NOT NULL"
        if spec.ttl_us is not None:
            valid += f" AND e.{TS} - {alias}.{alias}_t <= {spec.ttl_us}"
        for j, feature in enumerate(features):
            column = quote(f"{name}__{feature}")
            outputs.append(f"CASE WHEN {valid} THEN {alias}.{alias}_f{j} END AS {column}")
    query = (
        f"WITH {', '.join(ctes)} SELECT e.* EXCLUDE ({ROW}, {TS}), {', '.join(outputs)} "
        f"FROM __shipyard_entity e {' '.join(joins)} ORDER BY e.{ROW}"
    )
    try:
        return arrow_table(con.sql(query))
    finally:
        con.unregister("__shipyard_entity")


def arrow_table(relation: Any) -> pa.Table:
    """A relation's result as Arrow (``to_arrow_table`` on DuckDB 2, the older name before)."""
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return fetch()


def arrow_batches(relation: Any, rows: int) -> Any:
    """A relation's result as a stream of Arrow record batches."""
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    return fetch(rows)


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection (insertion order kept for ORDER BY-free reads)."""
    import duckdb

    con = duckdb.connect(config={"threads": threads} if threads else {})
    return con


def describe(con: duckdb.DuckDBPyConnection, spec: ViewSpec, store: Store) -> dict[str, Any]:
    """Row count and event-time range of a view's source (for ``features show``)."""
    columns = source_schema(con, spec, store)
    clause, _ = source_relation(spec, store)
    event = _epoch(spec.timestamp_field, columns[spec.timestamp_field])
    rows, low, high = con.sql(
        f"SELECT count(*), min({event}), max({event}) FROM {clause}"
    ).fetchall()[0]
    return {"rows": rows, "min_us": low, "max_us": high}
