"""RestStore's pipelines: pipelines, pipeline runs, step runs and schedules through a
Shipyard server.

The engine's hot path costs one request per store call: a run is created with all its step
runs at once, a step run's update carries its lineage edges, and batched updates stay one
request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.client._http import json_content, path_segment
from shipyard.client._pipelines import PipelinesStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import (
    DEFAULT_PROJECT,
    LineageEdge,
    PipelineInfo,
    PipelineRun,
    Schedule,
    StepRun,
)


class RestPipelines(RestBase, PipelinesStore):
    """Pipelines, their runs and step runs, the step cache and schedules over HTTP."""

    # ------------------------------------------------------------------ pipelines

    def register_pipeline(
        self, name: str, ref: str, description: str = "", project: str = DEFAULT_PROJECT
    ) -> None:
        body = {"ref": ref, "description": description, "project": project}
        self.http.send("PUT", f"/pipelines/{path_segment(name)}", json=body)

    def get_pipeline(self, name: str) -> PipelineInfo:
        return PipelineInfo(**self.http.send("GET", f"/pipelines/{path_segment(name)}"))

    def list_pipelines(self, projects: Sequence[str] | None = None) -> list[PipelineInfo]:
        params = None if projects is None else {"project": list(projects)}
        found = self.http.send("GET", "/pipelines", params=params)
        return [PipelineInfo(**p) for p in found["pipelines"]]

    # ------------------------------------------------------------------ pipeline runs

    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = (), project: str = DEFAULT_PROJECT
    ) -> tuple[PipelineRun, list[str]]:
        body = {"run": run.to_dict(), "steps": [s.to_dict() for s in steps], "project": project}
        found = self.http.send("POST", "/pipeline-runs", idempotent=False, **json_content(body))
        return PipelineRun.from_dict(found["run"]), list(found["step_run_ids"])

    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]:
        path = f"/pipeline-runs/{path_segment(pipeline_run_id)}/steps"
        body = {"steps": [s.to_dict() for s in steps]}
        found = self.http.send("POST", path, idempotent=False, **json_content(body))
        return list(found["step_run_ids"])

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        return PipelineRun.from_dict(
            self.http.send("GET", f"/pipeline-runs/{path_segment(run_id)}")
        )

    def update_pipeline_run(self, run_id: str, **values: Any) -> None:
        self.http.send("PATCH", f"/pipeline-runs/{path_segment(run_id)}", **json_content(values))

    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
        projects: Sequence[str] | None = None,
    ) -> list[PipelineRun]:
        params = {
            "pipeline": pipeline,
            "status": list(statuses) if statuses else None,
            "schedule": schedule,
            "limit": limit,
            "project": None if projects is None else list(projects),
        }
        found = self.http.send("GET", "/pipeline-runs", params=params)
        return [PipelineRun.from_dict(r) for r in found["runs"]]

    # ------------------------------------------------------------------ step runs

    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None:
        body = dict(values)
        if lineage:
            body["lineage"] = [edge.to_dict() for edge in lineage]
        self.http.send("PATCH", f"/step-runs/{path_segment(step_run_id)}", **json_content(body))

    def update_step_runs(
        self, updates: Mapping[str, Mapping[str, Any]], lineage: Sequence[LineageEdge] = ()
    ) -> None:
        body: dict[str, Any] = {"updates": updates}
        if lineage:
            body["lineage"] = [edge.to_dict() for edge in lineage]
        self.http.send("PATCH", "/step-runs", **json_content(body))

    def get_step_run(self, step_run_id: str) -> StepRun:
        return StepRun.from_dict(self.http.send("GET", f"/step-runs/{path_segment(step_run_id)}"))

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        found = self.http.send("GET", f"/pipeline-runs/{path_segment(pipeline_run_id)}/steps")
        return [StepRun.from_dict(s) for s in found["step_runs"]]

    def find_cached_step_run(
        self, cache_key: str, project: str = DEFAULT_PROJECT
    ) -> StepRun | None:
        path = f"/step-cache/{path_segment(cache_key)}"
        found = self.http.send("GET", path, params={"project": project})["step_run"]
        return None if found is None else StepRun.from_dict(found)

    # ------------------------------------------------------------------ schedules

    def put_schedule(self, schedule: Schedule, project: str = DEFAULT_PROJECT) -> Schedule:
        body = {**schedule.to_dict(), "project": project}
        found = self.http.send("POST", "/schedules", **json_content(body))
        return Schedule.from_dict(found)

    def get_schedule(self, name: str) -> Schedule:
        return Schedule.from_dict(self.http.send("GET", f"/schedules/{path_segment(name)}"))

    def list_schedules(self, projects: Sequence[str] | None = None) -> list[Schedule]:
        params = None if projects is None else {"project": list(projects)}
        found = self.http.send("GET", "/schedules", params=params)
        return [Schedule.from_dict(x) for x in found["schedules"]]

    def delete_schedule(self, name: str) -> None:
        self.http.send("DELETE", f"/schedules/{path_segment(name)}")

    def set_schedule_fired(self, name: str, last_fire_at: int) -> None:
        body = {"last_fire_at": last_fire_at}
        self.http.send("POST", f"/schedules/{path_segment(name)}/fired", json=body)
