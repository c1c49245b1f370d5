"""REST endpoints for experiments, runs, run data and search: the Store protocol over HTTP.

Each endpoint checks the caller's role on the project involved, makes one LocalStore call and
answers with the entity's ``to_dict`` form. Handlers are plain functions (run in the thread
pool), since every one of them waits on the database.
"""

from __future__ import annotations

from fastapi import Query, Request, Response
from starlette.concurrency import run_in_threadpool

from shipyard import _validation as v
from shipyard.entities import MetricPoint
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import api_router, no_content, respond

router = api_router()


# ----------------------------------------------------------------------------- the hot path
# First in the router (whose router is first in the app): FastAPI tries routes in order,
# and a metric batch arrives every few milliseconds from each training script.


@router.post(
    "/runs/{run_id}/batch",
    status_code=204,
    tags=["runs"],
    openapi_extra=s.json_body(s.LogBatch),
)
async def log_batch(run_id: str, request: Request, caller: CallerDep) -> Response:
    """Record metrics, params and tags of a run in one transaction (needs editor).

    The body is decoded straight into metric points (the hot path of every training
    script); anything unusual goes through the LogBatch schema for a precise 422.
    """
    points, params, tags = s.parse_batch(await request.body())
    await run_in_threadpool(_log_batch, caller, run_id, points, params, tags)
    return no_content()


def _log_batch(
    caller: Caller,
    run_id: str,
    points: list[MetricPoint],
    params: dict[str, str],
    tags: dict[str, str],
) -> None:
    caller.require_run(run_id, "editor")
    caller.store.log_batch(run_id, points, params, tags)


# ----------------------------------------------------------------------------- experiments


@router.post("/experiments", response_model=s.ExperimentOut, tags=["experiments"])
def create_experiment(body: s.CreateExperiment, caller: CallerDep) -> Response:
    """Create an experiment in a project (needs editor there)."""
    caller.require(v.check_project(body.project), "editor")
    exp = caller.store.create_experiment(body.name, body.description, body.tags, body.project)
    return respond(exp.to_dict())


@router.post("/experiments/get-or-create", response_model=s.ExperimentOut, tags=["experiments"])
def get_or_create_experiment(body: s.GetOrCreateExperiment, caller: CallerDep) -> Response:
    """The experiment with this name, created in ``project`` if there is none."""
    caller.require(v.check_project(body.project), "editor")
    exp = caller.store.get_or_create_experiment(body.name, body.project)
    caller.require(exp.project, "viewer")
    return respond(exp.to_dict())


@router.get("/experiments", response_model=s.ExperimentList, tags=["experiments"])
def list_experiments(caller: CallerDep, include_deleted: bool = False) -> Response:
    """Experiments in the projects the caller may read, oldest first."""
    found = caller.store.list_experiments(include_deleted)
    return respond({"experiments": [e.to_dict() for e in found if caller.may_see(e.project)]})


@router.get("/experiments/by-name", response_model=s.ExperimentOut, tags=["experiments"])
def get_experiment_by_name(caller: CallerDep, name: str = Query()) -> Response:
    """The experiment with this name."""
    exp = caller.store.get_experiment_by_name(name)
    caller.require(exp.project, "viewer")
    return respond(exp.to_dict())


@router.get("/experiments/{experiment_id}", response_model=s.ExperimentOut, tags=["experiments"])
def get_experiment(experiment_id: str, caller: CallerDep) -> Response:
    """One experiment by id."""
    caller.require_experiment(experiment_id, "viewer")
    return respond(caller.store.get_experiment(experiment_id).to_dict())


@router.patch("/experiments/{experiment_id}", status_code=204, tags=["experiments"])
def rename_experiment(experiment_id: str, body: s.RenameExperiment, caller: CallerDep) -> Response:
    """Rename an experiment (needs maintainer)."""
    caller.require_experiment(experiment_id, "maintainer")
    caller.store.rename_experiment(experiment_id, body.name)
    return no_content()


@router.delete("/experiments/{experiment_id}", status_code=204, tags=["experiments"])
def delete_experiment(experiment_id: str, caller: CallerDep) -> Response:
    """Soft-delete an experiment and its runs (needs maintainer)."""
    caller.require_experiment(experiment_id, "maintainer")
    caller.store.delete_experiment(experiment_id)
    return no_content()


@router.post("/experiments/{experiment_id}/restore", status_code=204, tags=["experiments"])
def restore_experiment(experiment_id: str, caller: CallerDep) -> Response:
    """Undo a delete (needs maintainer)."""
    caller.require_experiment(experiment_id, "maintainer")
    caller.store.restore_experiment(experiment_id)
    return no_content()


# ----------------------------------------------------------------------------- runs


@router.post("/runs", response_model=s.RunOut, tags=["runs"])
def create_run(body: s.CreateRun, caller: CallerDep) -> Response:
    """Start a run in an experiment (needs editor)."""
    caller.require_experiment(body.experiment_id, "editor")
    run = caller.store.create_run(
        body.experiment_id,
        body.name,
        user=body.user,
        start_time=body.start_time,
        parent_run_id=body.parent_run_id,
        tags=body.tags,
    )
    return respond(run.to_dict())


@router.post("/runs/delete", status_code=204, tags=["runs"])
def delete_runs(body: s.RunIds, caller: CallerDep) -> Response:
    """Soft-delete runs and their nested runs (needs maintainer)."""
    for run_id in body.run_ids:
        caller.require_run(run_id, "maintainer")
    caller.store.delete_runs(body.run_ids)
    return no_content()


@router.post("/runs/restore", status_code=204, tags=["runs"])
def restore_runs(body: s.RunIds, caller: CallerDep) -> Response:
    """Undo a delete of runs (needs maintainer)."""
    for run_id in body.run_ids:
        caller.require_run(run_id, "maintainer")
    caller.store.restore_runs(body.run_ids)
    return no_content()


@router.post("/runs/search", response_model=s.RunPageOut, tags=["runs"])
def search_runs(body: s.SearchRuns, caller: CallerDep) -> Response:
    """One page of the runs matching a filter (see the search docs for the language)."""
    for experiment_id in body.experiment_ids:
        caller.require_experiment(experiment_id, "viewer")
    page = caller.store.search_runs(
        body.experiment_ids,
        body.filter,
        body.order_by,
        body.limit,
        body.page_token,
        body.include_deleted,
    )
    return respond(page.to_dict())


@router.get("/runs/{run_id}", response_model=s.RunOut, tags=["runs"])
def get_run(run_id: str, caller: CallerDep) -> Response:
    """A run with its params, tags and latest metrics."""
    caller.require_run(run_id, "viewer")
    return respond(caller.store.get_run(run_id).to_dict())


@router.patch("/runs/{run_id}", status_code=204, tags=["runs"])
def update_run(run_id: str, body: s.UpdateRun, caller: CallerDep) -> Response:
    """Change a run's status, end time or name (needs editor)."""
    caller.require_run(run_id, "editor")
    caller.store.update_run(run_id, status=body.status, end_time=body.end_time, name=body.name)
    return no_content()


@router.get("/runs/{run_id}/children", response_model=s.RunIdList, tags=["runs"])
def child_runs(run_id: str, caller: CallerDep) -> Response:
    """Ids of the runs nested directly under this one."""
    caller.require_run(run_id, "viewer")
    return respond({"run_ids": caller.store.child_runs(run_id)})


@router.delete("/runs/{run_id}/tags/{key}", status_code=204, tags=["runs"])
def delete_tag(run_id: str, key: str, caller: CallerDep) -> Response:
    """Remove a tag from a run (needs editor)."""
    caller.require_run(run_id, "editor")
    caller.store.delete_tag(run_id, key)
    return no_content()


@router.get("/runs/{run_id}/metric-history", response_model=s.MetricHistory, tags=["runs"])
def metric_history(run_id: str, caller: CallerDep, key: str = Query()) -> Response:
    """Every value logged for one metric of a run, by step."""
    caller.require_run(run_id, "viewer")
    history = caller.store.get_metric_history(run_id, key)
    return respond({"metrics": [p.to_dict() for p in history]})
