"""LocalStore's pipelines: pipelines, their runs and step runs (with the step cache) and
schedules in the metadata database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shipyard.client._local_base import LocalBase
from shipyard.client._pipelines import PipelinesStore
from shipyard.entities import (
    DEFAULT_PROJECT,
    LineageEdge,
    PipelineInfo,
    PipelineRun,
    Schedule,
    StepRun,
)
from shipyard.errors import AlreadyExists
from shipyard.store import lineage_db, pipelines_db


class LocalPipelines(LocalBase, PipelinesStore):
    """Pipeline runs, step runs (with the cache lookup) and schedules."""

    # ------------------------------------------------------------------ pipelines

    def register_pipeline(
        self, name: str, ref: str, description: str = "", project: str = DEFAULT_PROJECT
    ) -> None:
        with self._write() as conn:
            pipelines_db.upsert_pipeline(conn, name, ref, description, self._now(), project)

    def get_pipeline(self, name: str) -> PipelineInfo:
        return self._read(lambda c: pipelines_db.get_pipeline(c, name))

    def list_pipelines(self, projects: Sequence[str] | None = None) -> list[PipelineInfo]:
        return self._read(lambda c: pipelines_db.list_pipelines(c, projects))

    # ------------------------------------------------------------------ pipeline runs

    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = (), project: str = DEFAULT_PROJECT
    ) -> tuple[PipelineRun, list[str]]:
        with _new_ids(), self._write() as conn:
            stored = pipelines_db.create_run(conn, run, project)
            ids = pipelines_db.create_steps(
                conn, [replace(s, pipeline_run_id=stored.id) for s in steps] if steps else []
            )
            return stored, ids

    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]:
        with _new_ids(), self._write() as conn:
            pipelines_db.get_run(conn, pipeline_run_id)
            return pipelines_db.create_steps(
                conn, [replace(s, pipeline_run_id=pipeline_run_id) for s in steps]
            )

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        return self._read(lambda c: pipelines_db.get_run(c, run_id))

    def update_pipeline_run(self, run_id: str, **values: Any) -> None:
        with self._write() as conn:
            pipelines_db.update_run(conn, run_id, values)

    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
        projects: Sequence[str] | None = None,
    ) -> list[PipelineRun]:
        return self._read(
            lambda c: pipelines_db.list_runs(c, pipeline, statuses, schedule, limit, projects)
        )

    # ------------------------------------------------------------------ step runs

    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None:
        with self._write() as conn:
            pipelines_db.update_step(conn, step_run_id, values)
            if lineage:
                lineage_db.add_edges(conn, list(lineage), self._now())

    def update_step_runs(
        self, updates: Mapping[str, Mapping[str, Any]], lineage: Sequence[LineageEdge] = ()
    ) -> None:
        with self._write() as conn:
            pipelines_db.update_steps(conn, updates)
            if lineage:
                lineage_db.add_edges(conn, list(lineage), self._now())

    def get_step_run(self, step_run_id: str) -> StepRun:
        return self._read(lambda c: pipelines_db.get_step(c, step_run_id))

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        return self._read(lambda c: pipelines_db.list_steps(c, pipeline_run_id))

    def find_cached_step_run(
        self, cache_key: str, project: str = DEFAULT_PROJECT
    ) -> StepRun | None:
        return self._read(lambda c: pipelines_db.find_cached(c, cache_key, project))

    # ------------------------------------------------------------------ schedules

    def put_schedule(self, schedule: Schedule, project: str = DEFAULT_PROJECT) -> Schedule:
        with self._write() as conn:
            pipelines_db.put_schedule(conn, schedule, project)
            return pipelines_db.get_schedule(conn, schedule.name)

    def get_schedule(self, name: str) -> Schedule:
        return self._read(lambda c: pipelines_db.get_schedule(c, name))

    def list_schedules(self, projects: Sequence[str] | None = None) -> list[Schedule]:
        return self._read(lambda c: pipelines_db.list_schedules(c, projects))

    def delete_schedule(self, name: str) -> None:
        with self._write() as conn:
            pipelines_db.delete_schedule(conn, name)

    def set_schedule_fired(self, name: str, last_fire_at: int) -> None:
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
