"""REST endpoints for pipelines, pipeline runs, step runs (with the step cache) and schedules.

Pipeline execution stays cheap over HTTP: a run and all its step runs are created in one
request, a step run's update (with the lineage edges it records) is one request, and the
updates the engine batches (skipping a branch, resuming) are one request.

Pipelines, pipeline runs and schedules belong to a project; a step run to the project of
its pipeline run. Reading needs the viewer role there, writing (recording and updating runs
and step runs, registering pipelines, putting schedules) the editor role, deleting a schedule
the maintainer role. Listings cover only the projects the caller may read, and the step
cache answers only with step runs of the project asked for, so no project ever reuses (and
loads) another project's step outputs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

from shipyard import _validation as v
from shipyard.client import MAX_RUNS_PAGE
from shipyard.entities import DEFAULT_PROJECT, PipelineInfo, PipelineRun, Schedule, StepRun
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import ProjectsQuery, api_router, no_content, respond

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


def _run_of(caller: Caller, run_id: str, role: str) -> PipelineRun:
    """The pipeline run ``run_id`` (an id or unique id prefix), once the caller holds
    ``role`` on its project."""
    run = caller.store.get_pipeline_run(run_id)
    caller.require(run.project, role)
    return run


def pinned_to_pipeline(caller: Caller, schedule: Schedule) -> Schedule:
    """``schedule`` in the project it will be stored in (the existing schedule's, else the
    one it names), running the pipeline of its name registered in that project by that
    pipeline's reference; a pipeline of another project (or none) is a 422 naming
    ``pipeline``."""
    try:
        project = caller.store.project_of("schedule", schedule.name)
    except NotFound:
        project = schedule.project
    try:
        pipeline: PipelineInfo | None = caller.store.get_pipeline(schedule.pipeline)
    except NotFound:
        pipeline = None
    if pipeline is None or pipeline.project != project:
        raise InvalidArgument(
            f"no pipeline named {schedule.pipeline!r} is registered in project {project!r}; "
            "a schedule runs a pipeline of its own project: run or register it there first",
            field="pipeline",
        )
    return replace(schedule, ref=pipeline.ref, project=project)


# ----------------------------------------------------------------------------- pipelines


@router.put("/pipelines/{name}", status_code=204, tags=["pipelines"])
def register_pipeline(name: str, body: s.RegisterPipeline, caller: CallerDep) -> Response:
    """Record a pipeline's name and the ``module:function`` that defines it (needs editor
    on its project: the existing pipeline's, else the one the body names)."""
    caller.require_put("pipeline", name, v.check_project(body.project), "editor")
    caller.store.register_pipeline(name, body.ref, body.description, body.project)
    return no_content()


@router.get("/pipelines", response_model=s.PipelineList, tags=["pipelines"])
def list_pipelines(caller: CallerDep, project: ProjectsQuery = None) -> Response:
    """Every pipeline of the projects the caller may read (and, given ``project``, only
    those), by name."""
    found = caller.store.list_pipelines(caller.projects_for("viewer", project))
    return respond({"pipelines": [p.to_dict() for p in found]})


@router.get("/pipelines/{name}", response_model=s.PipelineOut, tags=["pipelines"])
def get_pipeline(name: str, caller: CallerDep) -> Response:
    """One pipeline by name."""
    caller.require_on("pipeline", name, "viewer")
    return respond(caller.store.get_pipeline(name).to_dict())


# ----------------------------------------------------------------------------- runs


@router.post("/pipeline-runs", response_model=s.PipelineRunCreated, tags=["pipelines"])
def create_pipeline_run(body: s.CreatePipelineRun, caller: CallerDep) -> Response:
    """Record a pipeline run in a project and its step runs in one transaction (needs
    editor there); answers with the stored run and the step run ids, in the order given."""
    caller.require(v.check_project(body.project), "editor")
    run, ids = caller.store.create_pipeline_run(
        PipelineRun.from_dict(body.run.model_dump()),
        [StepRun.from_dict(step.model_dump()) for step in body.steps],
        body.project,
    )
    return respond({"run": run.to_dict(), "step_run_ids": ids})


@router.get("/pipeline-runs", response_model=s.PipelineRunList, tags=["pipelines"])
def list_pipeline_runs(
    caller: CallerDep,
    pipeline: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    schedule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RUNS_PAGE)] = 50,
    project: ProjectsQuery = None,
) -> Response:
    """Pipeline runs of the projects the caller may read (and, given ``project``, only
    those), newest first, optionally of one pipeline, schedule or set of statuses; every
    filter applies before ``limit``."""
    wanted = caller.projects_for("viewer", project)
    runs = caller.store.list_pipeline_runs(pipeline, status, schedule, limit, wanted)
    return respond({"runs": [r.to_dict() for r in runs]})


@router.get("/pipeline-runs/{run_id}", response_model=s.PipelineRunOut, tags=["pipelines"])
def get_pipeline_run(run_id: str, caller: CallerDep) -> Response:
    """A pipeline run by id or unique id prefix (at least 4 characters)."""
    return respond(_run_of(caller, run_id, "viewer").to_dict())


@router.patch("/pipeline-runs/{run_id}", status_code=204, tags=["pipelines"])
def update_pipeline_run(run_id: str, body: s.UpdatePipelineRun, caller: CallerDep) -> Response:
    """Change a pipeline run's status, times, error, executor, DAG or params (needs editor
    on its project); fields left out of the body stay as they are."""
    run = _run_of(caller, run_id, "editor")
    caller.store.update_pipeline_run(run.id, **_changes(body))
    return no_content()


@router.get("/pipeline-runs/{run_id}/steps", response_model=s.StepRunList, tags=["pipelines"])
def list_step_runs(run_id: str, caller: CallerDep) -> Response:
    """The step runs of a pipeline run."""
    steps = caller.store.list_step_runs(_run_of(caller, run_id, "viewer").id)
    return respond({"step_runs": [step.to_dict() for step in steps]})


@router.post("/pipeline-runs/{run_id}/steps", response_model=s.StepRunIds, tags=["pipelines"])
def add_step_runs(run_id: str, body: s.AddStepRuns, caller: CallerDep) -> Response:
    """Add step runs to a pipeline run (needs editor on its project); answers with their
    ids."""
    run = _run_of(caller, run_id, "editor")
    steps = [StepRun.from_dict(step.model_dump()) for step in body.steps]
    return respond({"step_run_ids": caller.store.add_step_runs(run.id, steps)})


# ----------------------------------------------------------------------------- step runs


@router.patch("/step-runs", status_code=204, tags=["pipelines"])
def update_step_runs(body: s.UpdateStepRuns, caller: CallerDep) -> Response:
    """Change several step runs and record the lineage edges the body names, in one
    transaction (needs editor on the project of each step run, and on both ends of every
    edge)."""
    for step_run_id in body.updates:
        caller.require_on("step_run", step_run_id, "editor")
    lineage = caller.lineage_edges(body.lineage)
    updates = {step_run_id: _changes(changes) for step_run_id, changes in body.updates.items()}
    caller.store.update_step_runs(updates, lineage)
    return no_content()


@router.get("/step-runs/{step_run_id}", response_model=s.StepRunOut, tags=["pipelines"])
def get_step_run(step_run_id: str, caller: CallerDep) -> Response:
    """One step run by id."""
    caller.require_on("step_run", step_run_id, "viewer")
    return respond(caller.store.get_step_run(step_run_id).to_dict())


@router.patch("/step-runs/{step_run_id}", status_code=204, tags=["pipelines"])
def update_step_run(step_run_id: str, body: s.UpdateStepRun, caller: CallerDep) -> Response:
    """Change fields of a step run and record the lineage edges it names, in one
    transaction (needs editor on its pipeline run's project, and on both ends of every
    edge)."""
    caller.require_on("step_run", step_run_id, "editor")
    lineage = caller.lineage_edges(body.lineage)
    caller.store.update_step_run(step_run_id, lineage, **_changes(body, {"lineage"}))
    return no_content()


@router.get("/step-cache/{cache_key}", response_model=s.StepRunFound, tags=["pipelines"])
def find_cached_step_run(
    cache_key: str, caller: CallerDep, project: str = DEFAULT_PROJECT
) -> Response:
    """The newest successful step run with this cache key in ``project`` (``null`` when
    there is none; needs viewer there)."""
    caller.require(v.check_project(project), "viewer")
    found = caller.store.find_cached_step_run(cache_key, project)
    return respond({"step_run": None if found is None else found.to_dict()})


# ----------------------------------------------------------------------------- schedules


@router.post("/schedules", response_model=s.ScheduleOut, tags=["schedules"])
def put_schedule(body: s.ScheduleBody, caller: CallerDep) -> Response:
    """Create or replace a schedule by name (needs editor on its project: the existing
    schedule's, else the one the body names). The schedule runs a pipeline registered in
    that project, by the pipeline's own reference: a ``ref`` the body names is ignored, so
    an editor cannot make the scheduler import a module of their choosing. A bad cron
    expression, time zone or policy is a 422 naming the field."""
    schedule = Schedule.from_dict(body.model_dump())
    caller.require_put("schedule", schedule.name, v.check_project(schedule.project), "editor")
    schedule = pinned_to_pipeline(caller, schedule)
    stored = caller.store.put_schedule(schedule, schedule.project)
    return respond(stored.to_dict())


@router.get("/schedules", response_model=s.ScheduleList, tags=["schedules"])
def list_schedules(caller: CallerDep, project: ProjectsQuery = None) -> Response:
    """Every schedule of the projects the caller may read (and, given ``project``, only
    those), by name."""
    found = caller.store.list_schedules(caller.projects_for("viewer", project))
    return respond({"schedules": [x.to_dict() for x in found]})


@router.get("/schedules/{name}", response_model=s.ScheduleOut, tags=["schedules"])
def get_schedule(name: str, caller: CallerDep) -> Response:
    """One schedule by name."""
    caller.require_on("schedule", name, "viewer")
    return respond(caller.store.get_schedule(name).to_dict())


@router.delete("/schedules/{name}", status_code=204, tags=["schedules"])
def delete_schedule(name: str, caller: CallerDep) -> Response:
    """Remove a schedule; its past runs stay (needs maintainer on its project)."""
    caller.require_on("schedule", name, "maintainer")
    caller.store.delete_schedule(name)
    return no_content()


@router.post("/schedules/{name}/fired", status_code=204, tags=["schedules"])
def set_schedule_fired(name: str, body: s.ScheduleFired, caller: CallerDep) -> Response:
    """Record the latest due time the scheduler handled (needs editor on its project)."""
    caller.require_on("schedule", name, "editor")
    caller.store.set_schedule_fired(name, body.last_fire_at)
    return no_content()
