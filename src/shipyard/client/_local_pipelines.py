"""LocalStore operations for pipelines, their runs and step runs, and schedules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shipyard import _validation as v
from shipyard.client._checks import check_page_limit, check_schedule
from shipyard.entities import LineageEdge, PipelineInfo, PipelineRun, Schedule, StepRun
from shipyard.errors import AlreadyExists
from shipyard.store import lineage_db, pipelines_db

T = TypeVar("T")
MAX_RUNS_PAGE = 10_000


class PipelineStoreMixin:
    """Pipeline runs, step runs (with the cache lookup) and schedules."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...

    # ------------------------------------------------------------------ pipelines

    def register_pipeline(self, name: str, ref: str, description: str = "") -> None:
        """Record a pipeline's name and the ``module:function`` that defines it."""
        from shipyard.client._local import now_ms

        v.check_name(name, "pipeline name")
        with self._write() as conn:
            pipelines_db.upsert_pipeline(conn, name, ref, description, now_ms())

    def get_pipeline(self, name: str) -> PipelineInfo:
        return self._read(lambda c: pipelines_db.get_pipeline(c, name))

    def list_pipelines(self) -> list[PipelineInfo]:
        return self._read(pipelines_db.list_pipelines)

    # ------------------------------------------------------------------ pipeline runs

    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = ()
    ) -> tuple[PipelineRun, list[str]]:
        """Insert a pipeline run and its step runs in one transaction.

        Returns the stored run and the ids of the step runs, in the order given.
        """
        v.check_name(run.pipeline, "pipeline name")
        with _new_ids(), self._write() as conn:
            stored = pipelines_db.create_run(conn, run)
            ids = pipelines_db.create_steps(
                conn, [_with_run(s, stored.id) for s in steps] if steps else []
            )
            return stored, ids

    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]:
        """Add step runs to an existing pipeline run; returns their ids."""
        with _new_ids(), self._write() as conn:
            pipelines_db.get_run(conn, pipeline_run_id)
            return pipelines_db.create_steps(conn, [_with_run(s, pipeline_run_id) for s in steps])

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """A pipeline run by id or unique id prefix."""
        return self._read(lambda c: pipelines_db.get_run(c, run_id))

    def update_pipeline_run(self, run_id: str, **values: Any) -> None:
        """Change ``status``, ``start_time``, ``end_time``, ``error``, ``dag`` or ``params``."""
        with self._write() as conn:
            pipelines_db.update_run(conn, run_id, values)

    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first."""
        check_page_limit(limit, MAX_RUNS_PAGE)
        return self._read(lambda c: pipelines_db.list_runs(c, pipeline, statuses, schedule, limit))

    # ------------------------------------------------------------------ step runs

    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None:
        """Change fields of a step run (status, times, cache key and hit, outputs, logs...),
        recording ``lineage`` edges in the same transaction."""
        from shipyard.client._local import now_ms

        with self._write() as conn:
            pipelines_db.update_step(conn, step_run_id, values)
            if lineage:
                lineage_db.add_edges(conn, list(lineage), now_ms())

    def update_step_runs(self, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Change several step runs in one transaction (``{step_run_id: {field: value}}``)."""
        with self._write() as conn:
            for step_run_id, values in updates.items():
                pipelines_db.update_step(conn, step_run_id, values)

    def get_step_run(self, step_run_id: str) -> StepRun:
        return self._read(lambda c: pipelines_db.get_step(c, step_run_id))

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """The step runs of a pipeline run."""
        return self._read(lambda c: pipelines_db.list_steps(c, pipeline_run_id))

    def find_cached_step_run(self, cache_key: str) -> StepRun | None:
        """The newest successful step run with this cache key, if any."""
        return self._read(lambda c: pipelines_db.find_cached(c, cache_key))

    # ------------------------------------------------------------------ schedules

    def put_schedule(self, schedule: Schedule) -> Schedule:
        """Create or replace a schedule by name (its cron, time zone and policies checked)."""
        check_schedule(schedule)
        with self._write() as conn:
            pipelines_db.put_schedule(conn, schedule)
            return pipelines_db.get_schedule(conn, schedule.name)

    def get_schedule(self, name: str) -> Schedule:
        return self._read(lambda c: pipelines_db.get_schedule(c, name))

    def list_schedules(self) -> list[Schedule]:
        return self._read(pipelines_db.list_schedules)

    def delete_schedule(self, name: str) -> None:
        with self._write() as conn:
            pipelines_db.delete_schedule(conn, name)

    def set_schedule_fired(self, name: str, last_fire_at: int) -> None:
        """Record the latest due time the scheduler has handled."""
        with self._write() as conn:
            pipelines_db.set_schedule_fired(conn, name, last_fire_at)


@contextmanager
def _new_ids() -> Iterator[None]:
    """Turn a clash with an existing run or step run id into AlreadyExists (the ids a
    caller chose; generated ones never clash)."""
    try:
        yield
    except SqlIntegrityError:
        raise AlreadyExists(
            "a pipeline run or step run with one of these ids exists already; leave the ids "
            "empty to have them generated",
            field="id",
        ) from None


def _with_run(step: StepRun, pipeline_run_id: str) -> StepRun:
    from dataclasses import replace

    return replace(step, pipeline_run_id=pipeline_run_id)
