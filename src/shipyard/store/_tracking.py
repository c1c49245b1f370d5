"""Queries for experiments, runs, params, tags and metrics.

Every public function takes an open SQLAlchemy ``Connection`` inside a transaction that the
caller owns, so a group of writes (a run's state change, a metric batch) commits or rolls back
as one. Hot paths use Core statements, not the ORM.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shipyard.entities import (
    DEFAULT_PROJECT,
    Experiment,
    Lifecycle,
    MetricPoint,
    Run,
    RunStatus,
    as_status,
)
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.store._driver import fetch_compiled, fetch_rows
from shipyard.store._models.tracking import (
    EXPERIMENT_TAGS,
    EXPERIMENTS,
    LATEST_METRICS,
    METRICS,
    PARAMS,
    RUN_TAGS,
    RUNS,
)
from shipyard.store._sql import chunks, new_id, record, upsert, upsert_for


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


# ----------------------------------------------------------------------------- experiments


def create_experiment(
    conn: Connection,
    name: str,
    description: str,
    tags: Mapping[str, str],
    now: int,
    project: str = DEFAULT_PROJECT,
) -> Experiment:
    """Insert an experiment into ``project``; a taken name raises AlreadyExists."""
    exp_id = new_id()
    stmt = (
        upsert(conn, EXPERIMENTS)
        .values(
            id=exp_id,
            name=name,
            description=description,
            lifecycle=Lifecycle.ACTIVE,
            created_at=now,
            updated_at=now,
            project=project,
        )
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(EXPERIMENTS.c.id)
    )
    if conn.execute(stmt).first() is None:
        existing = find_experiment(conn, name)
        if existing is not None and existing.lifecycle == Lifecycle.DELETED:
            raise AlreadyExists(
                f"experiment {name!r} exists but is deleted; restore it with "
                f"`shipyard experiments restore {name}` or pick another name",
                field="name",
            )
        raise AlreadyExists(
            f"experiment {name!r} already exists; pick another name or use the existing one",
            field="name",
        )
    if tags:
        conn.execute(
            EXPERIMENT_TAGS.insert(),
            [{"experiment_id": exp_id, "key": k, "value": v} for k, v in tags.items()],
        )
    return get_experiment(conn, exp_id)


def _experiment_from_row(conn: Connection, row: Any) -> Experiment:
    tags = dict(
        conn.execute(
            select(EXPERIMENT_TAGS.c.key, EXPERIMENT_TAGS.c.value).where(
                EXPERIMENT_TAGS.c.experiment_id == row.id
            )
        ).all()
    )
    return record(Experiment, row, tags=tags)


def _experiment_query(column: Any) -> Any:
    """One experiment (``column == :wanted``) with its tags and then its project, one row
    per tag (or one row of NULL tag columns): a single statement, read from the driver
    (``fetch_compiled``), for the look-up every search by experiment name starts with."""
    fields = [EXPERIMENTS.c[name] for name in _EXPERIMENT_COLUMNS]
    joined = EXPERIMENTS.outerjoin(
        EXPERIMENT_TAGS, EXPERIMENT_TAGS.c.experiment_id == EXPERIMENTS.c.id
    )
    return (
        select(*fields, EXPERIMENT_TAGS.c.key, EXPERIMENT_TAGS.c.value, EXPERIMENTS.c.project)
        .select_from(joined)
        .where(column == bindparam("wanted"))
    )


_EXPERIMENT_COLUMNS = ("id", "name", "description", "lifecycle", "created_at", "updated_at")
_EXPERIMENT_BY_ID = _experiment_query(EXPERIMENTS.c.id)
_EXPERIMENT_BY_NAME = _experiment_query(EXPERIMENTS.c.name)


def _one_experiment(conn: Connection, query: Any, wanted: str) -> Experiment | None:
    rows = fetch_compiled(conn, query, {"wanted": wanted})
    if not rows:
        return None
    first = rows[0]
    fields = dict(zip(_EXPERIMENT_COLUMNS, first, strict=False))
    tags = {row[-3]: row[-2] for row in rows if row[-3] is not None}
    return Experiment(**fields, tags=tags, project=first[-1])


def get_experiment(conn: Connection, experiment_id: str) -> Experiment:
    """The experiment with this id, or NotFound."""
    found = _one_experiment(conn, _EXPERIMENT_BY_ID, experiment_id)
    if found is None:
        raise NotFound(f"no experiment with id {experiment_id!r}", field="experiment_id")
    return found


def find_experiment(conn: Connection, name: str) -> Experiment | None:
    """The experiment with this name, or None."""
    return _one_experiment(conn, _EXPERIMENT_BY_NAME, name)


def list_experiments(conn: Connection, include_deleted: bool = False) -> list[Experiment]:
    """All experiments, oldest first."""
    query = select(EXPERIMENTS).order_by(EXPERIMENTS.c.created_at, EXPERIMENTS.c.name)
    if not include_deleted:
        query = query.where(EXPERIMENTS.c.lifecycle == Lifecycle.ACTIVE)
    return [_experiment_from_row(conn, row) for row in conn.execute(query)]


def rename_experiment(conn: Connection, experiment_id: str, new_name: str, now: int) -> None:
    """Give an experiment a new, unused name."""
    get_experiment(conn, experiment_id)
    try:
        with conn.begin_nested():
            conn.execute(
                update(EXPERIMENTS)
                .where(EXPERIMENTS.c.id == experiment_id)
                .values(name=new_name, updated_at=now)
            )
    except SqlIntegrityError:
        raise AlreadyExists(
            f"cannot rename: experiment {new_name!r} already exists", field="name"
        ) from None


def set_experiment_lifecycle(
    conn: Connection, experiment_id: str, lifecycle: Lifecycle, now: int
) -> None:
    """Soft-delete (``deleted``) or restore (``active``) an experiment and its runs."""
    get_experiment(conn, experiment_id)
    conn.execute(
        update(EXPERIMENTS)
        .where(EXPERIMENTS.c.id == experiment_id)
        .values(lifecycle=lifecycle, updated_at=now)
    )
    conn.execute(
        update(RUNS).where(RUNS.c.experiment_id == experiment_id).values(lifecycle=lifecycle)
    )


# ----------------------------------------------------------------------------- runs


def create_run(
    conn: Connection,
    *,
    experiment_id: str,
    name: str,
    user: str,
    start_time: int,
    parent_run_id: str | None,
    tags: Mapping[str, str],
    status: RunStatus = RunStatus.RUNNING,
) -> str:
    """Insert a run and its initial tags; returns the new run id."""
    experiment = get_experiment(conn, experiment_id)
    if experiment.lifecycle != Lifecycle.ACTIVE:
        raise Conflict(
            f"experiment {experiment.name!r} is deleted; restore it or log to another one",
            field="experiment_id",
        )
    if parent_run_id is not None:
        require_run(conn, parent_run_id)
    run_id = new_id()
    conn.execute(
        RUNS.insert().values(
            id=run_id,
            experiment_id=experiment_id,
            name=name,
            status=status,
            start_time=start_time,
            end_time=None,
            parent_run_id=parent_run_id,
            user=user,
            lifecycle=Lifecycle.ACTIVE,
        )
    )
    if tags:
        conn.execute(
            RUN_TAGS.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        )
    return run_id


_RUN_STATE = select(RUNS.c.id, RUNS.c.status, RUNS.c.lifecycle).where(
    RUNS.c.id == bindparam("run_id")
)


def require_run(conn: Connection, run_id: str, *, writable: bool = False) -> Any:
    """The run's row, or NotFound; with ``writable``, a deleted run is a Conflict."""
    row = conn.execute(_RUN_STATE, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no run with id {run_id!r}", field="run_id")
    if writable and row.lifecycle != Lifecycle.ACTIVE:
        raise Conflict(f"run {run_id} is deleted; restore it before logging to it", field="run_id")
    return row


def update_run(
    conn: Connection,
    run_id: str,
    *,
    status: str | None = None,
    end_time: int | None = None,
    name: str | None = None,
) -> None:
    """Change a run's status, end time or name in one statement."""
    require_run(conn, run_id, writable=True)
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = as_status(RunStatus, status)
    if end_time is not None:
        values["end_time"] = end_time
    if name is not None:
        values["name"] = name
    if values:
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))


def set_run_lifecycle(conn: Connection, run_ids: Sequence[str], lifecycle: Lifecycle) -> None:
    """Soft-delete or restore runs (and their nested child runs)."""
    for run_id in run_ids:
        require_run(conn, run_id)
    pending = list(run_ids)
    while pending:
        conn.execute(update(RUNS).where(RUNS.c.id.in_(pending)).values(lifecycle=lifecycle))
        pending = list(
            conn.execute(
                select(RUNS.c.id).where(
                    RUNS.c.parent_run_id.in_(pending), RUNS.c.lifecycle != lifecycle
                )
            ).scalars()
        )


def purge_runs(conn: Connection, run_ids: Sequence[str]) -> None:
    """Delete runs and all their data for good."""
    for table in (METRICS, LATEST_METRICS, PARAMS, RUN_TAGS):
        conn.execute(delete(table).where(table.c.run_id.in_(run_ids)))
    conn.execute(delete(RUNS).where(RUNS.c.id.in_(run_ids)))


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Full Run records (params, tags, latest metrics) for ``run_ids``, in the same order.

    A fixed number of statements per chunk of ids whatever the page size (see
    ``_load_sql``), sent as SQL text cached per dialect and number of ids and read as the
    driver's tuples (:func:`fetch_rows`: no statement compiling, no per-row result objects;
    a page of 100 runs is over a thousand rows); each Run is built from its tuple directly."""
    rows: dict[str, Any] = {}
    # one dict per run and kind made up front: each row is then one store into its run's
    # dict (no setdefault call and no throw-away dict per row; a page is ~1,100 rows)
    values: tuple[dict[str, dict[str, Any]], ...] = tuple(
        {run_id: {} for run_id in run_ids} for _ in range(3)
    )
    dialect = conn.dialect.name
    for chunk in chunks(list(run_ids)):
        plan = _load_sql(dialect, len(chunk))
        ids: tuple[Any, ...] = (list(chunk),) if dialect == "postgresql" else tuple(chunk)
        rows.update((row[0], row) for row in fetch_rows(conn, plan.runs, ids))
        for kind, sql in plan.values:
            if kind is None:  # one statement for all three kinds, the kind in column 1
                for run_id, row_kind, key, text, number in fetch_rows(conn, sql, ids * 3):
                    values[row_kind][run_id][key] = text if row_kind != 2 else number
            else:
                by_run = values[kind]
                for run_id, key, value in fetch_rows(conn, sql, ids):
                    by_run[run_id][key] = value
    params, tags, metrics = values
    for held in metrics.values():
        if None in held.values():  # NaN is stored as NULL
            for key, number in held.items():
                if number is None:
                    held[key] = math.nan
    runs = []
    for run_id in run_ids:
        row = rows.get(run_id)
        if row is not None:
            runs.append(
                Run(
                    id=run_id,
                    experiment_id=row[1],
                    name=row[2],
                    status=row[3],
                    start_time=row[4],
                    end_time=row[5],
                    parent_run_id=row[6],
                    user=row[7],
                    lifecycle=row[8],
                    params=params[run_id],
                    tags=tags[run_id],
                    metrics=metrics[run_id],
                )
            )
    return runs


#: The ``runs`` columns of a Run, in the order ``load_runs`` reads them.
RUN_COLUMNS = (
    "id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "user",
    "lifecycle",
)


@dataclass(frozen=True)
class _LoadPlan:
    """``load_runs``' statements for one chunk of ids: the runs' columns, then the values as
    (kind, SQL) pairs. A kind of 0 (params), 1 (tags) or 2 (latest metrics) reads rows of
    (run_id, key, value); None reads all three as rows of (run_id, kind, key, text value,
    number value), with the ids bound three times."""

    runs: str
    values: tuple[tuple[int | None, str], ...]


@functools.lru_cache(maxsize=64)
def _load_sql(dialect: str, count: int) -> _LoadPlan:
    """``load_runs``' statements for ``count`` ids.

    PostgreSQL takes the ids as one array (``= ANY(%s)``): the text is then the same for
    every page, so psycopg parses it once and the server prepares it once, where an IN list
    of 100 placeholders was parsed by psycopg and planned by the server on every call; its
    values come in one UNION ALL (one round trip). SQLite takes an IN list of ``count``
    placeholders and one statement per table: in-process there is no round trip to save, and
    the UNION ALL (with its typed NULL columns) took twice as long to step through."""
    match = "= ANY(%s)" if dialect == "postgresql" else f"IN ({', '.join(['?'] * count)})"
    columns = ", ".join(f'"{name}"' for name in RUN_COLUMNS)
    runs = f"SELECT {columns} FROM {RUNS.name} WHERE id {match}"
    tables = (PARAMS.name, RUN_TAGS.name, LATEST_METRICS.name)
    if dialect != "postgresql":
        return _LoadPlan(
            runs,
            tuple(
                (kind, f'SELECT run_id, "key", value FROM {table} WHERE run_id {match}')
                for kind, table in enumerate(tables)
            ),
        )
    no_text, no_number = "CAST(NULL AS VARCHAR)", "CAST(NULL AS FLOAT)"
    arms = [
        f'SELECT run_id, {kind}, "key", {text}, {number} FROM {table} WHERE run_id {match}'
        for kind, table, text, number in (
            (0, PARAMS.name, "value", no_number),
            (1, RUN_TAGS.name, "value", no_number),
            (2, LATEST_METRICS.name, no_text, "value"),
        )
    ]
    return _LoadPlan(runs, ((None, " UNION ALL ".join(arms)),))


def get_run(conn: Connection, run_id: str) -> Run:
    """One full Run record, or NotFound."""
    runs = load_runs(conn, [run_id])
    if not runs:
        raise NotFound(f"no run with id {run_id!r}", field="run_id")
    return runs[0]


def child_run_ids(conn: Connection, run_id: str) -> list[str]:
    """Ids of the runs nested directly under ``run_id``."""
    return list(conn.execute(select(RUNS.c.id).where(RUNS.c.parent_run_id == run_id)).scalars())


# ----------------------------------------------------------------------------- run data


def log_batch(
    conn: Connection,
    run_id: str,
    metrics: Sequence[MetricPoint],
    params: Mapping[str, str],
    tags: Mapping[str, str],
) -> None:
    """Record metrics, params and tags of one run in the caller's transaction.

    Params are immutable: logging the same value again is fine, a different one raises
    InvalidArgument naming both values (and nothing of the batch is kept, since the caller's
    transaction rolls back).
    """
    require_run(conn, run_id, writable=True)
    if params:
        _log_params(conn, run_id, params)
    if tags:
        _set_tags(conn, run_id, tags)
    if metrics:
        _log_metrics(conn, run_id, metrics)


def _log_params(conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
    keys = list(params)
    stmt = upsert(conn, PARAMS).on_conflict_do_nothing(index_elements=["run_id", "key"])
    for chunk in chunks(keys):
        conn.execute(stmt, [{"run_id": run_id, "key": k, "value": params[k]} for k in chunk])
        stored = conn.execute(
            select(PARAMS.c.key, PARAMS.c.value).where(
                PARAMS.c.run_id == run_id, PARAMS.c.key.in_(chunk)
            )
        )
        for key, value in stored:
            if value != params[key]:
                raise InvalidArgument(
                    f"param {key!r} of run {run_id} is already {value!r}; cannot change it to "
                    f"{params[key]!r} (params are immutable: start a new run, or log the "
                    "changing value as a metric or tag)",
                    field=key,
                    old_value=value,
                    new_value=params[key],
                )


def _set_tags(conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    stmt = upsert(conn, RUN_TAGS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
    )
    items = list(tags.items())
    for chunk in chunks(items):
        conn.execute(stmt, [{"run_id": run_id, "key": k, "value": v} for k, v in chunk])


def delete_tag(conn: Connection, run_id: str, key: str) -> None:
    """Remove a tag from a run; a missing tag is NotFound."""
    require_run(conn, run_id, writable=True)
    result = conn.execute(
        delete(RUN_TAGS).where(RUN_TAGS.c.run_id == run_id, RUN_TAGS.c.key == key)
    )
    if result.rowcount == 0:
        raise NotFound(f"run {run_id} has no tag {key!r}", field="key")


@functools.cache
def _latest_metric_upsert(dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT that keeps the value of the highest (step, timestamp).

    Built once per dialect: constructing the statement costs more than running it on the
    synchronous one-metric-per-call path.
    """
    stmt = upsert_for(dialect_name, LATEST_METRICS)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={"value": new.value, "step": new.step, "timestamp": new.timestamp},
        where=or_(
            new.step > LATEST_METRICS.c.step,
            and_(new.step == LATEST_METRICS.c.step, new.timestamp >= LATEST_METRICS.c.timestamp),
        ),
    )


@functools.cache
def _insert_metrics_sql(paramstyle: str) -> str:
    """The history INSERT in the driver's own placeholder style (qmark or format)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    columns = "run_id, key, value, step, timestamp"
    return f"INSERT INTO {METRICS.name} ({columns}) VALUES ({', '.join([mark] * 5)})"


def _log_metrics(conn: Connection, run_id: str, metrics: Sequence[MetricPoint]) -> None:
    # The history insert goes to the driver as plain tuples: building a parameter dict per
    # row through the SQL compiler cost more than the insert itself for large batches.
    conn.exec_driver_sql(
        _insert_metrics_sql(conn.dialect.paramstyle),
        [(run_id, m.key, _db_value(m.value), m.step, m.timestamp) for m in metrics],
    )
    latest: dict[str, MetricPoint] = {}
    for m in metrics:
        best = latest.get(m.key)
        if best is None or (m.step, m.timestamp) >= (best.step, best.timestamp):
            latest[m.key] = m
    rows = [
        {
            "run_id": run_id,
            "key": m.key,
            "value": _db_value(m.value),
            "step": m.step,
            "timestamp": m.timestamp,
        }
        for m in latest.values()
    ]
    stmt = _latest_metric_upsert(conn.dialect.name)
    for chunk in chunks(rows):
        conn.execute(stmt, list(chunk))


def experiment_keys(conn: Connection, experiment_id: str) -> dict[str, list[str]]:
    """The distinct param, metric and tag keys of an experiment's runs, sorted; NotFound for
    an unknown experiment."""
    get_experiment(conn, experiment_id)
    found: dict[str, list[str]] = {}
    for kind, table in (("params", PARAMS), ("metrics", LATEST_METRICS), ("tags", RUN_TAGS)):
        query = (
            select(table.c.key)
            .distinct()
            .join(RUNS, RUNS.c.id == table.c.run_id)
            .where(RUNS.c.experiment_id == experiment_id)
            .order_by(table.c.key)
        )
        found[kind] = list(conn.scalars(query))
    return found


def metric_history(conn: Connection, run_id: str, key: str) -> list[MetricPoint]:
    """Every value logged for ``key`` in the run, by step then time then insertion order."""
    require_run(conn, run_id)
    query = (
        select(METRICS.c.key, METRICS.c.value, METRICS.c.step, METRICS.c.timestamp)
        .where(METRICS.c.run_id == run_id, METRICS.c.key == key)
        .order_by(METRICS.c.step, METRICS.c.timestamp, METRICS.c.id)
    )
    return [
        MetricPoint(k, math.nan if v is None else v, s, t) for k, v, s, t in conn.execute(query)
    ]


def count_metrics(conn: Connection, run_id: str) -> int:
    """How many metric values (history rows) a run has."""
    from sqlalchemy import func

    return int(
        conn.execute(
            select(func.count()).select_from(METRICS).where(METRICS.c.run_id == run_id)
        ).scalar_one()
    )
