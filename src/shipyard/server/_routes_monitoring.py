"""REST endpoints of monitoring: monitors and their run history.

Monitors live in the default project: reading them and their history needs the viewer role
there; creating, replacing, deleting a monitor and recording a run need the editor role.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field

from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun
from shipyard.errors import InvalidArgument
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, no_content, respond

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


class MonitorRunIn(BaseModel):
    """A finished monitor run."""

    id: str
    monitor: str
    started_at: int
    finished_at: int
    window_start: int
    window_end: int
    model_version: int
    status: str
    result: dict[str, Any] = Field(default_factory=dict)
    error: str = ""


def _check_same_monitor(path: str, body: str) -> None:
    """Refuse a body that names another monitor than the path does."""
    if body != path:
        raise InvalidArgument(f"the body names monitor {body!r}, the path {path!r}")


@router.put("/monitors/{name}", tags=["monitoring"])
def put_monitor(name: str, body: MonitorIn, caller: CallerDep) -> Response:
    """Create or replace a monitor (needs editor)."""
    caller.require(DEFAULT_PROJECT, "editor")
    _check_same_monitor(name, body.name)
    stored = caller.store.put_monitor(Monitor(**body.model_dump()))
    return respond(stored.to_dict())


@router.get("/monitors", tags=["monitoring"])
def list_monitors(caller: CallerDep) -> Response:
    """Every monitor, by name."""
    caller.require(DEFAULT_PROJECT, "viewer")
    return respond({"monitors": [m.to_dict() for m in caller.store.list_monitors()]})


@router.get("/monitors/{name}", tags=["monitoring"])
def get_monitor(name: str, caller: CallerDep) -> Response:
    """One monitor."""
    caller.require(DEFAULT_PROJECT, "viewer")
    return respond(caller.store.get_monitor(name).to_dict())


@router.delete("/monitors/{name}", status_code=204, tags=["monitoring"])
def delete_monitor(name: str, caller: CallerDep) -> Response:
    """Remove a monitor and its history (needs editor)."""
    caller.require(DEFAULT_PROJECT, "editor")
    caller.store.delete_monitor(name)
    return no_content()


@router.post("/monitors/{name}/runs", tags=["monitoring"])
def add_monitor_run(name: str, body: MonitorRunIn, caller: CallerDep) -> Response:
    """Record a monitor run (needs editor)."""
    caller.require(DEFAULT_PROJECT, "editor")
    _check_same_monitor(name, body.monitor)
    return respond(caller.store.add_monitor_run(MonitorRun(**body.model_dump())).to_dict())


@router.get("/monitors/{name}/runs", tags=["monitoring"])
def list_monitor_runs(name: str, caller: CallerDep, limit: int = 100) -> Response:
    """A monitor's runs, the newest first."""
    caller.require(DEFAULT_PROJECT, "viewer")
    found = caller.store.list_monitor_runs(name, limit)
    return respond({"runs": [r.to_dict() for r in found]})
