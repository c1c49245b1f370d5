"""REST endpoint for online feature lookups (``POST /api/v1/features/online``).

Reading features needs the viewer role on the default project. The lookup runs in-process
against the server's online store, with definitions cached like the SDK's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from shipyard.entities import DEFAULT_PROJECT
from shipyard.server._access import CallerDep
from shipyard.server._routes_tracking import API, ERRORS, respond

router = APIRouter(prefix=API, responses=ERRORS, max_body_size=4 * 2**20)


class OnlineRequest(BaseModel):
    """Entity rows and the features (a list of 'view:feature', or a service name)."""

    entity_rows: list[dict[str, Any]] = Field(max_length=10_000)
    features: list[str] | None = None
    service: str | None = None
    full_feature_names: bool = False


@router.post("/features/online", tags=["features"])
def online_features(body: OnlineRequest, caller: CallerDep) -> Response:
    """Latest materialized values, a status per value (PRESENT, MISSING, OUTSIDE_TTL) and
    the values' event times, for each entity row."""
    from shipyard.features import get_online_features

    caller.require(DEFAULT_PROJECT, "viewer")
    wanted: list[str] | str = body.service if body.service else (body.features or [])
    got = get_online_features(
        body.entity_rows,
        wanted,
        full_feature_names=body.full_feature_names,
        store=caller.store,
    )
    return respond(got.to_dict())
