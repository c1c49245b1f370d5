"""REST endpoints of monitoring: monitors and their run history.

A monitor (with its run history) belongs to a project: reading it and its history needs the
viewer role there; creating, replacing, deleting a monitor and recording a run need the
editor role. Listing covers only the projects the caller may read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Response
from pydantic import BaseModel, Field

from shipyard import _validation as v
from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun
from shipyard.errors import InvalidArgument
from shipyard.server._access import CallerDep
from shipyard.server._http import ProjectsQuery, api_router, no_content, respond
from shipyard.server._schemas import wire_model

router = api_router(max_body_size=16 * 2**20)


class MonitorIn(BaseModel):
    """A monitor's definition."""

    name: str
    model: str
    window: str = "1h"
    schedule: str = ""
    alerts: list[str] = Field(default_factory=list)
    channels: list[dict[str, Any]] = Field(default_factory=list)
    reference: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    project: str = DEFAULT_PROJECT


if TYPE_CHECKING:
    MonitorRunIn = BaseModel
else:  # a finished monitor run: the record's own fields, derived from it (one definition)
    MonitorRunIn = wire_model(MonitorRun)


def _check_same_monitor(path: str, body: str) -> None:
    """Refuse a body that names another monitor than the path does."""
    if body != path:
        raise InvalidArgument(f"the body names monitor {body!r}, the path {path!r}")


@router.put("/monitors/{name}", tags=["monitoring"])
def put_monitor(name: str, body: MonitorIn, caller: CallerDep) -> Response:
    """Create or replace a monitor (needs editor on its project: the existing monitor's,
    else the one the body names)."""
    _check_same_monitor(name, body.name)
    caller.require_put("monitor", name, v.check_project(body.project), "editor")
    stored = caller.store.put_monitor(Monitor(**body.model_dump()), body.project)
    return respond(stored.to_dict())


@router.get("/monitors", tags=["monitoring"])
def list_monitors(caller: CallerDep, project: ProjectsQuery = None) -> Response:
    """Every monitor of the projects the caller may read (and, given ``project``, only
    those), by name."""
    found = caller.store.list_monitors(caller.projects_for("viewer", project))
    return respond({"monitors": [m.to_dict() for m in found]})


@router.get("/monitors/{name}", tags=["monitoring"])
def get_monitor(name: str, caller: CallerDep) -> Response:
    """One monitor."""
    caller.require_on("monitor", name, "viewer")
    return respond(caller.store.get_monitor(name).to_dict())


@router.delete("/monitors/{name}", status_code=204, tags=["monitoring"])
def delete_monitor(name: str, caller: CallerDep) -> Response:
    """Remove a monitor and its history (needs editor on its project)."""
    caller.require_on("monitor", name, "editor")
    caller.store.delete_monitor(name)
    return no_content()


@router.post("/monitors/{name}/runs", tags=["monitoring"])
def add_monitor_run(name: str, body: MonitorRunIn, caller: CallerDep) -> Response:
    """Record a monitor run (needs editor on the monitor's project)."""
    run = MonitorRun(**body.model_dump())
    _check_same_monitor(name, run.monitor)
    caller.require_on("monitor", name, "editor")
    return respond(caller.store.add_monitor_run(run).to_dict())


@router.get("/monitors/{name}/runs", tags=["monitoring"])
def list_monitor_runs(name: str, caller: CallerDep, limit: int = 100) -> Response:
    """A monitor's runs, the newest first (needs viewer on the monitor's project)."""
    caller.require_on("monitor", name, "viewer")
    found = caller.store.list_monitor_runs(name, limit)
    return respond({"runs": [r.to_dict() for r in found]})
