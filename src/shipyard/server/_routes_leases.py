"""REST endpoints of leases: one active holder of work that spans every project.

A lease coordinates a service that acts on every project (the scheduler), so taking or
giving one up needs the maintainer role on every project (``*``): a user of one project
cannot hold the scheduler's lease and stop everyone's schedules.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

from shipyard._validation import ALL_PROJECTS
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, no_content, respond

router = api_router()


class LeaseIn(BaseModel):
    """Who takes a lease, and for how long."""

    holder: str
    ttl_seconds: float


@router.post("/leases/{name}", tags=["leases"])
def acquire_lease(name: str, body: LeaseIn, caller: CallerDep) -> Response:
    """Take or renew a lease; the lease as it stands (needs maintainer on ``*``)."""
    caller.require(ALL_PROJECTS, "maintainer")
    return respond(caller.store.acquire_lease(name, body.holder, body.ttl_seconds).to_dict())


@router.delete("/leases/{name}", status_code=204, tags=["leases"])
def release_lease(name: str, holder: str, caller: CallerDep) -> Response:
    """Give up a lease held by ``holder`` (needs maintainer on ``*``)."""
    caller.require(ALL_PROJECTS, "maintainer")
    caller.store.release_lease(name, holder)
    return no_content()
