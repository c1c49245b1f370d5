"""RestStore's pipeline calls: pipelines, pipeline runs, step runs and schedules through a
Shipyard server.

The engine's hot path costs one request per store call: a run is created with all its step
runs at once, a step run's update carries its lineage edges, and batched updates stay one
request. Inputs get the checks LocalStore runs (names, the fields an update may change,
schedules' cron expressions and policies) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from shipyard import _validation as v
from shipyard.client._checks import check_page_limit, check_schedule
from shipyard.client._http import Http, path_segment
from shipyard.client._local_pipelines import MAX_RUNS_PAGE
from shipyard.entities import LineageEdge, PipelineInfo, PipelineRun, Schedule, StepRun
from shipyard.errors import InvalidArgument
from shipyard.store._pipelines import RUN_FIELDS, STEP_FIELDS

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_content(data: Any) -> dict[str, Any]:
    """``Http.send`` arguments for a JSON body that may hold values JSON has no type for
    (numpy numbers, dates...): they travel as text, as LocalStore stores them."""
    body = orjson.dumps(data, default=str, option=_JSON_OPTIONS)
    content: Callable[[], Iterator[bytes]] = lambda: iter((body,))  # noqa: E731
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return {"content": content, "headers": headers}


def _checked(values: Mapping[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    for key in values:
        if key not in allowed:
            raise InvalidArgument(f"{what} field {key!r} cannot be changed", field=key)
    return dict(values)


class RestPipelinesMixin:
    """Pipelines, their runs and step runs, the step cache and schedules over HTTP."""

    http: Http

    # ------------------------------------------------------------------ pipelines

    def register_pipeline(self, name: str, ref: str, description: str = "") -> None:
        """Record a pipeline's name and the ``module:function`` that defines it."""
        v.check_name(name, "pipeline name")
        body = {"ref": ref, "description": description}
        self.http.send("PUT", f"/pipelines/{path_segment(name)}", json=body)

    def get_pipeline(self, name: str) -> PipelineInfo:
        return PipelineInfo(**self.http.send("GET", f"/pipelines/{path_segment(name)}"))

    def list_pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo(**p) for p in self.http.send("GET", "/pipelines")["pipelines"]]

    # ------------------------------------------------------------------ pipeline runs

    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = ()
    ) -> tuple[PipelineRun, list[str]]:
        """Record a pipeline run and its step runs in one request (and one transaction)."""
        v.check_name(run.pipeline, "pipeline name")
        body = {"run": run.to_dict(), "steps": [s.to_dict() for s in steps]}
        found = self.http.send("POST", "/pipeline-runs", idempotent=False, **json_content(body))
        return PipelineRun.from_dict(found["run"]), list(found["step_run_ids"])

    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]:
        """Add step runs to an existing pipeline run; returns their ids."""
        path = f"/pipeline-runs/{path_segment(pipeline_run_id)}/steps"
        body = {"steps": [s.to_dict() for s in steps]}
        found = self.http.send("POST", path, idempotent=False, **json_content(body))
        return list(found["step_run_ids"])

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """A pipeline run by id or unique id prefix."""
        return PipelineRun.from_dict(
            self.http.send("GET", f"/pipeline-runs/{path_segment(run_id)}")
        )

    def update_pipeline_run(self, run_id: str, **values: Any) -> None:
        """Change ``status``, ``start_time``, ``end_time``, ``error``, ``dag`` or ``params``."""
        body = _checked(values, RUN_FIELDS, "pipeline run")
        self.http.send("PATCH", f"/pipeline-runs/{path_segment(run_id)}", **json_content(body))

    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first."""
        check_page_limit(limit, MAX_RUNS_PAGE)
        params = {
            "pipeline": pipeline,
            "status": list(statuses) if statuses else None,
            "schedule": schedule,
            "limit": limit,
        }
        found = self.http.send("GET", "/pipeline-runs", params=params)
        return [PipelineRun.from_dict(r) for r in found["runs"]]

    # ------------------------------------------------------------------ step runs

    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None:
        """Change fields of a step run and record ``lineage`` edges, in one request."""
        body = _checked(values, STEP_FIELDS, "step run")
        if lineage:
            body["lineage"] = [edge.to_dict() for edge in lineage]
        self.http.send("PATCH", f"/step-runs/{path_segment(step_run_id)}", **json_content(body))

    def update_step_runs(self, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Change several step runs in one request (``{step_run_id: {field: value}}``)."""
        body = {
            "updates": {
                step_run_id: _checked(values, STEP_FIELDS, "step run")
                for step_run_id, values in updates.items()
            }
        }
        self.http.send("PATCH", "/step-runs", **json_content(body))

    def get_step_run(self, step_run_id: str) -> StepRun:
        return StepRun.from_dict(self.http.send("GET", f"/step-runs/{path_segment(step_run_id)}"))

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """The step runs of a pipeline run."""
        found = self.http.send("GET", f"/pipeline-runs/{path_segment(pipeline_run_id)}/steps")
        return [StepRun.from_dict(s) for s in found["step_runs"]]

    def find_cached_step_run(self, cache_key: str) -> StepRun | None:
        """The newest successful step run with this cache key, if any."""
        found = self.http.send("GET", f"/step-cache/{path_segment(cache_key)}")["step_run"]
        return None if found is None else StepRun.from_dict(found)

    # ------------------------------------------------------------------ schedules

    def put_schedule(self, schedule: Schedule) -> Schedule:
        """Create or replace a schedule by name (its cron, time zone and policies checked)."""
        body = check_schedule(schedule).to_dict()
        return Schedule.from_dict(self.http.send("POST", "/schedules", **json_content(body)))

    def get_schedule(self, name: str) -> Schedule:
        return Schedule.from_dict(self.http.send("GET", f"/schedules/{path_segment(name)}"))

    def list_schedules(self) -> list[Schedule]:
        return [Schedule.from_dict(x) for x in self.http.send("GET", "/schedules")["schedules"]]

    def delete_schedule(self, name: str) -> None:
        self.http.send("DELETE", f"/schedules/{path_segment(name)}")

    def set_schedule_fired(self, name: str, last_fire_at: int) -> None:
        """Record the latest due time the scheduler has handled."""
        body = {"last_fire_at": last_fire_at}
        self.http.send("POST", f"/schedules/{path_segment(name)}/fired", json=body)
