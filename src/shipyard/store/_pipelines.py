"""Queries for pipelines, pipeline runs, step runs and schedules.

JSON-valued fields (params, DAG, inputs, outputs) are stored as text: they are read whole and
never filtered on, so a portable Text column is enough on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Update, bindparam, delete, select, update

from shipyard.entities import (
    DEFAULT_PROJECT,
    PipelineInfo,
    PipelineRun,
    PipelineRunStatus,
    Schedule,
    StepRun,
    StepStatus,
    as_status,
)
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store._driver import execute_compiled
from shipyard.store._models.pipelines import PIPELINE_RUNS, PIPELINES, SCHEDULES, STEP_RUNS
from shipyard.store._sql import chunks, in_projects, new_id, record, upsert, upsert_for

#: The fields of a pipeline run that ``update_run`` may change.
RUN_FIELDS = frozenset({"status", "start_time", "end_time", "error", "executor", "dag", "params"})
#: The fields of a step run that ``update_step`` may change.
STEP_FIELDS = frozenset(
    {
        "status",
        "attempts",
        "cache_key",
        "cache_hit",
        "start_time",
        "end_time",
        "inputs",
        "params",
        "outputs",
        "logs",
        "error",
        "code_parts",
    }
)
_JSON_FIELDS = {"inputs", "params", "outputs", "code_parts"}


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


# ----------------------------------------------------------------------------- pipelines


@functools.lru_cache(maxsize=4)
def _upsert_pipeline_statement(dialect_name: str) -> Any:
    """The INSERT of a pipeline that updates where it is defined on a clash, built once per
    dialect: every pipeline run registers its pipeline, and building the statement costs
    SQLAlchemy more than running it."""
    stmt = upsert_for(dialect_name, PIPELINES)
    return stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "ref": stmt.excluded.ref,
            "description": stmt.excluded.description,
            "updated_at": stmt.excluded.updated_at,
        },
    )


def upsert_pipeline(
    conn: Connection,
    name: str,
    ref: str,
    description: str,
    now: int,
    project: str = DEFAULT_PROJECT,
) -> None:
    """Record a pipeline in ``project`` (or update where it is defined; an existing pipeline
    keeps its project)."""
    conn.execute(
        _upsert_pipeline_statement(conn.dialect.name),
        {
            "name": name,
            "ref": ref,
            "description": description,
            "created_at": now,
            "updated_at": now,
            "project": project,
        },
    )


def _pipeline(row: Any) -> PipelineInfo:
    return record(PipelineInfo, row)


def get_pipeline(conn: Connection, name: str) -> PipelineInfo:
    """A pipeline by name, or NotFound."""
    row = conn.execute(select(PIPELINES).where(PIPELINES.c.name == name)).first()
    if row is None:
        raise NotFound(
            f"no pipeline named {name!r}; run it once by reference (module:function) or list "
            "them with `shipyard pipelines list`",
            field="pipeline",
        )
    return _pipeline(row)


def list_pipelines(conn: Connection, projects: Sequence[str] | None = None) -> list[PipelineInfo]:
    """Every known pipeline (of ``projects``; None: all), by name."""
    query = select(PIPELINES).order_by(PIPELINES.c.name)
    query = in_projects(query, PIPELINES.c.project, projects)
    return [_pipeline(r) for r in conn.execute(query)]


# ----------------------------------------------------------------------------- runs


def create_run(conn: Connection, run: PipelineRun, project: str = DEFAULT_PROJECT) -> PipelineRun:
    """Insert a pipeline run into ``project`` (its id is generated when empty) and return it
    as stored (built from the inserted values, not read back)."""
    run_id, params_json, dag_json = run.id or new_id(), _dumps(run.params), _dumps(run.dag)
    values = {
        "id": run_id,
        "pipeline": run.pipeline,
        "ref": run.ref,
        "status": run.status,
        "params_json": params_json,
        "executor": run.executor,
        "dag_json": dag_json,
        "error": run.error,
        "resumed_from": run.resumed_from,
        "schedule": run.schedule,
        "scheduled_for": run.scheduled_for,
        "created_at": run.created_at,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "project": project,
    }
    conn.execute(_INSERT_RUN, values)
    # as a read would return it: JSON fields as decoded from what was stored
    return replace(
        run,
        id=run_id,
        project=project,
        params=json.loads(params_json),
        dag=json.loads(dag_json),
    )


#: The INSERT of a pipeline run, built once.
_INSERT_RUN = PIPELINE_RUNS.insert()


def _run(row: Any) -> PipelineRun:
    return record(
        PipelineRun, row, params=json.loads(row.params_json), dag=json.loads(row.dag_json)
    )


#: A pipeline run by id, built once (every run of a pipeline reads its record four times).
_GET_RUN = select(PIPELINE_RUNS).where(PIPELINE_RUNS.c.id == bindparam("run_id"))


def get_run(conn: Connection, run_id: str) -> PipelineRun:
    """A pipeline run by id, or by a unique prefix of at least 4 characters."""
    row = conn.execute(_GET_RUN, {"run_id": run_id}).first()
    if row is None and 4 <= len(run_id) < 32 and run_id.isalnum():
        rows = conn.execute(
            select(PIPELINE_RUNS).where(PIPELINE_RUNS.c.id.like(f"{run_id}%")).limit(2)
        ).all()
        if len(rows) > 1:
            raise NotFound(
                f"pipeline run id prefix {run_id!r} matches several runs; give more characters",
                field="run_id",
            )
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(
            f"no pipeline run with id {run_id!r}; list them with `shipyard pipelines runs`",
            field="run_id",
        )
    return _run(row)


@functools.lru_cache(maxsize=64)
def _update_run_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE of one pipeline run's ``columns``, built once per set of columns."""
    return (
        update(PIPELINE_RUNS)
        .where(PIPELINE_RUNS.c.id == bindparam("where_id"))
        .values({column: bindparam(f"set_{column}") for column in columns})
    )


def update_run(conn: Connection, run_id: str, values: Mapping[str, Any]) -> None:
    """Change a run's status, times, error or DAG (``run_id``: an id or a unique prefix)."""
    row: dict[str, Any] = {}
    for key, value in values.items():
        if key == "status":
            value = as_status(PipelineRunStatus, value)
        if key in {"dag", "params"}:
            row[f"{key}_json"] = _dumps(value)
        elif key in RUN_FIELDS:
            row[key] = value
        else:
            raise InvalidArgument(f"pipeline run field {key!r} cannot be changed", field=key)
    if not row:
        get_run(conn, run_id)  # NotFound names it
        return
    stmt = _update_run_statement(tuple(row))
    params = {f"set_{column}": value for column, value in row.items()}
    if conn.execute(stmt, {"where_id": run_id, **params}).rowcount == 0:
        # not an id: a unique prefix, or NotFound naming it
        conn.execute(stmt, {"where_id": get_run(conn, run_id).id, **params})


def list_runs(
    conn: Connection,
    pipeline: str | None,
    statuses: Sequence[str] | None,
    schedule: str | None,
    limit: int,
    projects: Sequence[str] | None = None,
) -> list[PipelineRun]:
    """Pipeline runs, newest first, optionally of one pipeline, schedule or set of statuses,
    of ``projects`` (None: all); every filter applies before ``limit``."""
    query = (
        select(PIPELINE_RUNS)
        .order_by(PIPELINE_RUNS.c.created_at.desc(), PIPELINE_RUNS.c.id)
        .limit(limit)
    )
    if pipeline is not None:
        query = query.where(PIPELINE_RUNS.c.pipeline == pipeline)
    if schedule is not None:
        query = query.where(PIPELINE_RUNS.c.schedule == schedule)
    if statuses:
        query = query.where(PIPELINE_RUNS.c.status.in_(list(statuses)))
    query = in_projects(query, PIPELINE_RUNS.c.project, projects)
    return [_run(row) for row in conn.execute(query)]


# ----------------------------------------------------------------------------- step runs


def _step_values(step: StepRun) -> dict[str, Any]:
    return {
        "id": step.id or new_id(),
        "pipeline_run_id": step.pipeline_run_id,
        "name": step.name,
        "step": step.step,
        "status": step.status,
        "attempts": step.attempts,
        "cache_key": step.cache_key,
        "cache_hit": step.cache_hit,
        "start_time": step.start_time,
        "end_time": step.end_time,
        "inputs_json": _dumps(step.inputs),
        "params_json": _dumps(step.params),
        "outputs_json": _dumps(step.outputs),
        "logs": step.logs,
        "error": step.error,
        "code_parts_json": _dumps(step.code_parts),
    }


def create_steps(conn: Connection, steps: Sequence[StepRun]) -> list[str]:
    """Insert step runs in one statement per chunk; returns their ids in order."""
    rows = []
    for step in steps:
        rows.append(_step_values(step))
    for chunk in chunks(rows):
        conn.execute(STEP_RUNS.insert(), list(chunk))
    return [r["id"] for r in rows]


def _step(row: Any) -> StepRun:
    return record(
        StepRun,
        row,
        cache_hit=bool(row.cache_hit),
        inputs=json.loads(row.inputs_json),
        params=json.loads(row.params_json),
        outputs=json.loads(row.outputs_json),
        code_parts=json.loads(row.code_parts_json or "{}"),
    )


@functools.lru_cache(maxsize=256)
def _update_step_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE of one step run's ``columns``, built once per set of columns: a pipeline
    run updates its step runs several times each, and building (and cache-keying) a fresh
    statement costs SQLAlchemy more than running it."""
    return (
        update(STEP_RUNS)
        .where(STEP_RUNS.c.id == bindparam("where_id"))
        .values({column: bindparam(f"set_{column}") for column in columns})
    )


def _step_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns to set for changes ``values`` of a step run, each field checked."""
    row: dict[str, Any] = {}
    for key, value in values.items():
        if key not in STEP_FIELDS:
            raise InvalidArgument(f"step run field {key!r} cannot be changed", field=key)
        if key == "status":
            value = as_status(StepStatus, value)
        row[f"{key}_json" if key in _JSON_FIELDS else key] = (
            _dumps(value) if key in _JSON_FIELDS else value
        )
    return row


def update_step(conn: Connection, step_run_id: str, values: Mapping[str, Any]) -> None:
    """Change fields of a step run (status, times, cache key, outputs, logs ...)."""
    update_steps(conn, {step_run_id: values})


def update_steps(conn: Connection, updates: Mapping[str, Mapping[str, Any]]) -> None:
    """Change fields of several step runs: one statement per set of changed columns (the
    steps of a cached run all change the same ones), run on the driver (a pipeline run
    writes these for every step), NotFound naming a missing step run."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for step_run_id, values in updates.items():
        row = _step_columns(values)
        if row:
            params = {f"set_{column}": value for column, value in row.items()}
            groups.setdefault(tuple(row), []).append({"where_id": step_run_id, **params})
    for columns, rows in groups.items():
        if execute_compiled(conn, _update_step_statement(columns), rows) != len(rows):
            for one in rows:
                get_step(conn, one["where_id"])  # NotFound names the missing one


#: The step runs of a pipeline run, built once (read at the end of every pipeline run).
_LIST_STEPS = (
    select(STEP_RUNS)
    .where(STEP_RUNS.c.pipeline_run_id == bindparam("run_id"))
    .order_by(STEP_RUNS.c.start_time.is_(None), STEP_RUNS.c.start_time, STEP_RUNS.c.name)
)


def list_steps(conn: Connection, pipeline_run_id: str) -> list[StepRun]:
    """The step runs of a pipeline run, in the order they were created."""
    get_run(conn, pipeline_run_id)
    return [_step(row) for row in conn.execute(_LIST_STEPS, {"run_id": pipeline_run_id})]


def get_step(conn: Connection, step_run_id: str) -> StepRun:
    """A step run by id, or NotFound."""
    row = conn.execute(select(STEP_RUNS).where(STEP_RUNS.c.id == step_run_id)).first()
    if row is None:
        raise NotFound(f"no step run with id {step_run_id!r}", field="step_run_id")
    return _step(row)


#: The step cache's lookup, built once (it runs for every cached step of every run).
_FIND_CACHED = (
    select(STEP_RUNS)
    .join(PIPELINE_RUNS, STEP_RUNS.c.pipeline_run_id == PIPELINE_RUNS.c.id)
    .where(
        STEP_RUNS.c.cache_key == bindparam("cache_key"),
        STEP_RUNS.c.status == StepStatus.FINISHED,
        PIPELINE_RUNS.c.project == bindparam("project"),
    )
    .order_by(STEP_RUNS.c.end_time.desc())
    .limit(1)
)


def find_cached(conn: Connection, cache_key: str, project: str = DEFAULT_PROJECT) -> StepRun | None:
    """The newest successful step run with this cache key in ``project``, if any: another
    project's step runs are never reused (their outputs are not this project's to trust)."""
    row = conn.execute(_FIND_CACHED, {"cache_key": cache_key, "project": project}).first()
    return None if row is None else _step(row)


# ----------------------------------------------------------------------------- schedules


def put_schedule(conn: Connection, schedule: Schedule, project: str = DEFAULT_PROJECT) -> None:
    """Create or replace a schedule in ``project`` (its last fire time and project are kept
    when it already exists)."""
    values = {
        "pipeline": schedule.pipeline,
        "ref": schedule.ref,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "params_json": _dumps(schedule.params),
        "missed": schedule.missed,
        "overlap": schedule.overlap,
        "enabled": schedule.enabled,
    }
    stmt = upsert(conn, SCHEDULES).values(
        name=schedule.name,
        created_at=schedule.created_at,
        last_fire_at=schedule.last_fire_at,
        project=project,
        **values,
    )
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))


def _schedule(row: Any) -> Schedule:
    return record(Schedule, row, params=json.loads(row.params_json), enabled=bool(row.enabled))


def get_schedule(conn: Connection, name: str) -> Schedule:
    """A schedule by name, or NotFound."""
    row = conn.execute(select(SCHEDULES).where(SCHEDULES.c.name == name)).first()
    if row is None:
        raise NotFound(
            f"no schedule named {name!r}; list them with `shipyard pipelines schedules`",
            field="schedule",
        )
    return _schedule(row)


def list_schedules(conn: Connection, projects: Sequence[str] | None = None) -> list[Schedule]:
    """Every schedule (of ``projects``; None: all), by name."""
    query = select(SCHEDULES).order_by(SCHEDULES.c.name)
    query = in_projects(query, SCHEDULES.c.project, projects)
    return [_schedule(r) for r in conn.execute(query)]


def delete_schedule(conn: Connection, name: str) -> None:
    """Remove a schedule (its past runs stay)."""
    get_schedule(conn, name)
    conn.execute(delete(SCHEDULES).where(SCHEDULES.c.name == name))


def set_schedule_fired(conn: Connection, name: str, last_fire_at: int) -> None:
    """Record the latest due time the scheduler has handled."""
    get_schedule(conn, name)
    conn.execute(
        update(SCHEDULES).where(SCHEDULES.c.name == name).values(last_fire_at=last_fire_at)
    )
