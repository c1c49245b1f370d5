"""REST endpoints of deployments: model servers recording what they serve, and their
history of changes.

A deployment belongs to the project of the model it serves: recording one (and its
heartbeats and stop) needs the editor role there, reading it and its history the viewer
role. Listing covers only the projects the caller may read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel

from shipyard.entities import Deployment
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import api_router, respond

router = api_router()


class DeploymentIn(BaseModel):
    """What a model server serves now (the server sets the times, status and project)."""

    id: str
    model: str
    reference: str
    version: int
    mode: str = "single"
    challenger: str = ""
    challenger_version: int = 0
    traffic_share: float = 0.0
    address: str = ""


def _require_deployment(caller: Caller, deployment_id: str, model: str, role: str) -> None:
    """``role`` on the project of the deployment, or (a new one) of the model it serves."""
    if not caller.backend.auth:
        return
    try:
        project = caller.backend.project_of("deployment", deployment_id)
    except NotFound:
        project = caller.backend.project_of("model", model)
    caller.require(project, role)


@router.put("/deployments/{deployment_id}", tags=["deployments"])
def put_deployment(deployment_id: str, body: DeploymentIn, caller: CallerDep) -> Response:
    """Record a model server that starts, or what a running one serves now (needs editor on
    the project of the model it serves)."""
    if body.id != deployment_id:
        raise InvalidArgument(
            f"the body names deployment {body.id!r}, the path {deployment_id!r}", field="id"
        )
    _require_deployment(caller, deployment_id, body.model, "editor")
    stored = caller.store.put_deployment(Deployment(**body.model_dump()))
    return respond(stored.to_dict())


@router.post("/deployments/{deployment_id}/heartbeat", tags=["deployments"])
def heartbeat_deployment(deployment_id: str, caller: CallerDep) -> Response:
    """Note that a deployment is alive (needs editor on its project)."""
    caller.require_on("deployment", deployment_id, "editor")
    return respond(caller.store.heartbeat_deployment(deployment_id).to_dict())


@router.post("/deployments/{deployment_id}/stop", tags=["deployments"])
def stop_deployment(deployment_id: str, caller: CallerDep) -> Response:
    """Mark a deployment stopped (needs editor on its project)."""
    caller.require_on("deployment", deployment_id, "editor")
    return respond(caller.store.stop_deployment(deployment_id).to_dict())


@router.get("/deployments", tags=["deployments"])
def list_deployments(
    caller: CallerDep,
    project: Annotated[list[str] | None, Query()] = None,
    model: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> Response:
    """Deployments of the projects the caller may read (and, given ``project``, only
    those), the most recently started first."""
    found = caller.store.list_deployments(
        caller.projects_for("viewer", project),
        model,
        status,  # type: ignore[arg-type]  # checked (and converted) by the store
        limit,
    )
    return respond({"deployments": [d.to_dict() for d in found]})


@router.get("/deployments/{deployment_id}", tags=["deployments"])
def get_deployment(deployment_id: str, caller: CallerDep) -> Response:
    """One deployment (needs viewer on its project)."""
    caller.require_on("deployment", deployment_id, "viewer")
    return respond(caller.store.get_deployment(deployment_id).to_dict())


@router.get("/deployments/{deployment_id}/events", tags=["deployments"])
def list_deployment_events(deployment_id: str, caller: CallerDep, limit: int = 1000) -> Response:
    """A deployment's changes, the oldest first (needs viewer on its project)."""
    caller.require_on("deployment", deployment_id, "viewer")
    found = caller.store.list_deployment_events(deployment_id, limit)
    return respond({"events": [e.to_dict() for e in found]})
