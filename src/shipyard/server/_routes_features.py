"""REST endpoints of the feature store: its definitions (entities, feature views, services),
materialization windows, and online lookups (``POST /api/v1/features/online``).

Features live in the default project: reading definitions and features needs the viewer
role there, applying definitions and recording materializations the editor role. The online
lookup runs in-process against the server's online store, with definitions cached like the
SDK's, on the event loop when that costs no blocking work.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shipyard.entities import DEFAULT_PROJECT, FeatureObject
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond

router = api_router(max_body_size=4 * 2**20)


class OnlineRequest(BaseModel):
    """Entity rows and the features (a list of 'view:feature', or a service name)."""

    entity_rows: list[dict[str, Any]] = Field(max_length=10_000)
    features: list[str] | None = None
    service: str | None = None
    full_feature_names: bool = False


@router.post("/features/online", tags=["features"])
async def online_features(body: OnlineRequest, caller: CallerDep) -> Response:
    """Latest materialized values, a status per value (PRESENT, MISSING, OUTSIDE_TTL) and
    the values' event times, for each entity row.

    A lookup that needs no blocking work beyond a local SQLite read (definitions cached, no
    on-demand view, a bounded number of rows) runs right here on the event loop; any other
    (a definitions refresh, pandas, Redis) in the thread pool.
    """
    from shipyard.features import get_online_features, serves_inline

    caller.require(DEFAULT_PROJECT, "viewer")
    wanted: list[str] | str = body.service if body.service else (body.features or [])
    lookup = partial(
        get_online_features,
        body.entity_rows,
        wanted,
        full_feature_names=body.full_feature_names,
        store=caller.store,
    )
    full, rows = body.full_feature_names, len(body.entity_rows)
    if serves_inline(caller.store, wanted, full, rows):
        got = lookup()
    else:
        got = await run_in_threadpool(lookup)
    return respond(got.to_dict())


@router.put("/features/objects", response_model=s.FeatureObjectList, tags=["features"])
def apply_feature_objects(body: s.ApplyFeatureObjects, caller: CallerDep) -> Response:
    """Create or replace definitions and remove others in one transaction (needs editor)."""
    caller.require(DEFAULT_PROJECT, "editor")
    objects = [FeatureObject(o.kind, o.name, o.spec) for o in body.objects]
    stored = caller.store.apply_feature_objects(objects, list(body.delete))
    return respond({"objects": [o.to_dict() for o in stored]})


@router.get("/features/objects", response_model=s.FeatureObjectList, tags=["features"])
def list_feature_objects(caller: CallerDep, kind: str | None = None) -> Response:
    """Every definition, or those of one kind, by kind and name."""
    caller.require(DEFAULT_PROJECT, "viewer")
    found = caller.store.list_feature_objects(kind)
    return respond({"objects": [o.to_dict() for o in found]})


@router.get("/features/objects/{kind}/{name}", response_model=s.FeatureObjectOut, tags=["features"])
def get_feature_object(kind: str, name: str, caller: CallerDep) -> Response:
    """One definition by kind and name."""
    caller.require(DEFAULT_PROJECT, "viewer")
    return respond(caller.store.get_feature_object(kind, name).to_dict())


@router.post(
    "/features/views/{view}/materializations",
    response_model=s.FeatureMaterializationOut,
    tags=["features"],
)
def record_materialization(view: str, body: s.RecordMaterialization, caller: CallerDep) -> Response:
    """Record that a view was materialized over a window (needs editor)."""
    caller.require(DEFAULT_PROJECT, "editor")
    found = caller.store.record_feature_materialization(view, body.start, body.end, body.rows)
    return respond(found.to_dict())


@router.get(
    "/features/views/{view}/materializations",
    response_model=s.FeatureMaterializationList,
    tags=["features"],
)
def list_materializations(view: str, caller: CallerDep, limit: int = 100) -> Response:
    """A view's materializations, the latest window end first."""
    caller.require(DEFAULT_PROJECT, "viewer")
    found = caller.store.list_feature_materializations(view, limit)
    return respond({"materializations": [m.to_dict() for m in found]})
