"""REST endpoints for pipelines, pipeline runs, step runs (with the step cache) and schedules.

Pipeline execution stays cheap over HTTP: a run and all its step runs are created in one
request, a step run's update (with the lineage edges it records) is one request, and the
updates the engine batches (skipping a branch, resuming) are one request.

Pipelines are not per project yet: reading needs the viewer role on some project, writing
(recording runs, registering pipelines, putting schedules) the editor role on some project,
and deleting a schedule the maintainer role on some project.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

from shipyard.client import MAX_RUNS_PAGE
from shipyard.entities import PipelineRun, Schedule, StepRun
from shipyard.errors import InvalidArgument
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, no_content, respond

router = api_router()
_NULLABLE = {"start_time", "end_time"}  # the fields of runs and step runs that may be unset


def _changes(body: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields a PATCH body sets; ``null`` only where the record may hold no value."""
    changes = body.model_dump(exclude_unset=True, exclude=exclude)
    for key, value in changes.items():
        if value is None and key not in _NULLABLE:
            raise InvalidArgument(
                f"{key} must not be null; leave it out to keep its value", field=key
            )
    return changes


# ----------------------------------------------------------------------------- pipelines


@router.put("/pipelines/{name}", status_code=204, tags=["pipelines"])
def register_pipeline(name: str, body: s.RegisterPipeline, caller: CallerDep) -> Response:
    """Record a pipeline's name and the ``module:function`` that defines it (needs editor
    somewhere)."""
    caller.require_somewhere("editor")
    caller.store.register_pipeline(name, body.ref, body.description)
    return no_content()


@router.get("/pipelines", response_model=s.PipelineList, tags=["pipelines"])
def list_pipelines(caller: CallerDep) -> Response:
    """Every pipeline Shipyard knows, by name."""
    caller.require_somewhere("viewer")
    return respond({"pipelines": [p.to_dict() for p in caller.store.list_pipelines()]})


@router.get("/pipelines/{name}", response_model=s.PipelineOut, tags=["pipelines"])
def get_pipeline(name: str, caller: CallerDep) -> Response:
    """One pipeline by name."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_pipeline(name).to_dict())


# ----------------------------------------------------------------------------- runs


@router.post("/pipeline-runs", response_model=s.PipelineRunCreated, tags=["pipelines"])
def create_pipeline_run(body: s.CreatePipelineRun, caller: CallerDep) -> Response:
    """Record a pipeline run and its step runs in one transaction (needs editor somewhere);
    answers with the stored run and the step run ids, in the order given."""
    caller.require_somewhere("editor")
    run, ids = caller.store.create_pipeline_run(
        PipelineRun.from_dict(body.run.model_dump()),
        [StepRun.from_dict(step.model_dump()) for step in body.steps],
    )
    return respond({"run": run.to_dict(), "step_run_ids": ids})


@router.get("/pipeline-runs", response_model=s.PipelineRunList, tags=["pipelines"])
def list_pipeline_runs(
    caller: CallerDep,
    pipeline: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    schedule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RUNS_PAGE)] = 50,
) -> Response:
    """Pipeline runs, newest first, optionally of one pipeline, schedule or set of statuses."""
    caller.require_somewhere("viewer")
    runs = caller.store.list_pipeline_runs(pipeline, status, schedule, limit)
    return respond({"runs": [r.to_dict() for r in runs]})


@router.get("/pipeline-runs/{run_id}", response_model=s.PipelineRunOut, tags=["pipelines"])
def get_pipeline_run(run_id: str, caller: CallerDep) -> Response:
    """A pipeline run by id or unique id prefix (at least 4 characters)."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_pipeline_run(run_id).to_dict())


@router.patch("/pipeline-runs/{run_id}", status_code=204, tags=["pipelines"])
def update_pipeline_run(run_id: str, body: s.UpdatePipelineRun, caller: CallerDep) -> Response:
    """Change a pipeline run's status, times, error, executor, DAG or params (needs editor
    somewhere); fields left out of the body stay as they are."""
    caller.require_somewhere("editor")
    caller.store.update_pipeline_run(run_id, **_changes(body))
    return no_content()


@router.get("/pipeline-runs/{run_id}/steps", response_model=s.StepRunList, tags=["pipelines"])
def list_step_runs(run_id: str, caller: CallerDep) -> Response:
    """The step runs of a pipeline run."""
    caller.require_somewhere("viewer")
    steps = caller.store.list_step_runs(run_id)
    return respond({"step_runs": [step.to_dict() for step in steps]})


@router.post("/pipeline-runs/{run_id}/steps", response_model=s.StepRunIds, tags=["pipelines"])
def add_step_runs(run_id: str, body: s.AddStepRuns, caller: CallerDep) -> Response:
    """Add step runs to a pipeline run (needs editor somewhere); answers with their ids."""
    caller.require_somewhere("editor")
    steps = [StepRun.from_dict(step.model_dump()) for step in body.steps]
    return respond({"step_run_ids": caller.store.add_step_runs(run_id, steps)})


# ----------------------------------------------------------------------------- step runs


@router.patch("/step-runs", status_code=204, tags=["pipelines"])
def update_step_runs(body: s.UpdateStepRuns, caller: CallerDep) -> Response:
    """Change several step runs in one transaction (needs editor somewhere)."""
    caller.require_somewhere("editor")
    updates = {step_run_id: _changes(changes) for step_run_id, changes in body.updates.items()}
    caller.store.update_step_runs(updates)
    return no_content()


@router.get("/step-runs/{step_run_id}", response_model=s.StepRunOut, tags=["pipelines"])
def get_step_run(step_run_id: str, caller: CallerDep) -> Response:
    """One step run by id."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_step_run(step_run_id).to_dict())


@router.patch("/step-runs/{step_run_id}", status_code=204, tags=["pipelines"])
def update_step_run(step_run_id: str, body: s.UpdateStepRun, caller: CallerDep) -> Response:
    """Change fields of a step run and record the lineage edges it names, in one
    transaction (needs editor somewhere)."""
    caller.require_somewhere("editor")
    lineage = caller.lineage_edges(body.lineage)
    caller.store.update_step_run(step_run_id, lineage, **_changes(body, {"lineage"}))
    return no_content()


@router.get("/step-cache/{cache_key}", response_model=s.StepRunFound, tags=["pipelines"])
def find_cached_step_run(cache_key: str, caller: CallerDep) -> Response:
    """The newest successful step run with this cache key (``null`` when there is none)."""
    caller.require_somewhere("viewer")
    found = caller.store.find_cached_step_run(cache_key)
    return respond({"step_run": None if found is None else found.to_dict()})


# ----------------------------------------------------------------------------- schedules


@router.post("/schedules", response_model=s.ScheduleOut, tags=["schedules"])
def put_schedule(body: s.ScheduleBody, caller: CallerDep) -> Response:
    """Create or replace a schedule by name (needs editor somewhere). A bad cron
    expression, time zone or policy is a 422 naming the field."""
    caller.require_somewhere("editor")
    stored = caller.store.put_schedule(Schedule.from_dict(body.model_dump()))
    return respond(stored.to_dict())


@router.get("/schedules", response_model=s.ScheduleList, tags=["schedules"])
def list_schedules(caller: CallerDep) -> Response:
    """Every schedule, by name."""
    caller.require_somewhere("viewer")
    return respond({"schedules": [x.to_dict() for x in caller.store.list_schedules()]})


@router.get("/schedules/{name}", response_model=s.ScheduleOut, tags=["schedules"])
def get_schedule(name: str, caller: CallerDep) -> Response:
    """One schedule by name."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_schedule(name).to_dict())


@router.delete("/schedules/{name}", status_code=204, tags=["schedules"])
def delete_schedule(name: str, caller: CallerDep) -> Response:
    """Remove a schedule; its past runs stay (needs maintainer somewhere)."""
    caller.require_somewhere("maintainer")
    caller.store.delete_schedule(name)
    return no_content()


@router.post("/schedules/{name}/fired", status_code=204, tags=["schedules"])
def set_schedule_fired(name: str, body: s.ScheduleFired, caller: CallerDep) -> Response:
    """Record the latest due time the scheduler handled (needs editor somewhere)."""
    caller.require_somewhere("editor")
    caller.store.set_schedule_fired(name, body.last_fire_at)
    return no_content()
