"""REST endpoints of the feature store: its definitions (entities, feature views, services),
materialization windows, and online lookups (``POST /api/v1/features/online``).

Every definition belongs to a project, and a view's materializations to the view's: reading
definitions, materializations and features needs the viewer role there, applying
definitions and recording materializations the editor role. An online lookup needs viewer on
the project of every view it reads (and of the service it names). The online
lookup runs in-process against the server's online store, with definitions cached like the
SDK's, on the event loop when that costs no blocking work.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shipyard import _validation as v
from shipyard.entities import FeatureObject
from shipyard.errors import NotFound
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import ProjectsQuery, api_router, respond

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

    wanted: list[str] | str = body.service if body.service else (body.features or [])
    await run_in_threadpool(_require_features, caller, wanted)
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


def _require_features(caller: Caller, wanted: list[str] | str) -> None:
    """Refuse an online lookup unless the caller may read the service it names and every
    view it reads (names that are no definition are left to the lookup's own error)."""
    if not caller.backend.auth:
        return
    refs = [wanted] if isinstance(wanted, str) else wanted
    if isinstance(wanted, str):
        service = caller.store.get_feature_object("service", wanted)
        caller.require(service.project, "viewer")
        refs = [str(r) for r in service.spec.get("features", [])]
    for view in sorted({ref.split(":", 1)[0] for ref in refs}):
        for kind in ("feature_view", "on_demand_view"):
            try:
                caller.require_on(kind, view, "viewer")
                break
            except NotFound:
                continue


@router.put("/features/objects", response_model=s.FeatureObjectList, tags=["features"])
def apply_feature_objects(body: s.ApplyFeatureObjects, caller: CallerDep) -> Response:
    """Create or replace definitions in a project and remove others in one transaction
    (needs editor on the project of each definition touched: an existing one's, else the
    one the body names)."""
    project = v.check_project(body.project)
    for o in body.objects:
        caller.require_put(o.kind, o.name, project, "editor")
    for kind, name in body.delete:
        caller.require_put(kind, name, project, "editor")
    caller.request.state.project = project
    objects = [FeatureObject(o.kind, o.name, o.spec) for o in body.objects]
    stored = caller.store.apply_feature_objects(objects, list(body.delete), project)
    return respond({"objects": [o.to_dict() for o in stored]})


@router.get("/features/objects", response_model=s.FeatureObjectList, tags=["features"])
def list_feature_objects(
    caller: CallerDep,
    kind: str | None = None,
    project: ProjectsQuery = None,
) -> Response:
    """Every definition (or those of one kind) of the projects the caller may read (and,
    given ``project``, only those), by kind and name."""
    found = caller.store.list_feature_objects(kind, caller.projects_for("viewer", project))
    return respond({"objects": [o.to_dict() for o in found]})


@router.get("/features/objects/{kind}/{name}", response_model=s.FeatureObjectOut, tags=["features"])
def get_feature_object(kind: str, name: str, caller: CallerDep) -> Response:
    """One definition by kind and name."""
    caller.require(caller.store.get_feature_object(kind, name).project, "viewer")
    return respond(caller.store.get_feature_object(kind, name).to_dict())


@router.post(
    "/features/views/{view}/materializations",
    response_model=s.FeatureMaterializationOut,
    tags=["features"],
)
def record_materialization(view: str, body: s.RecordMaterialization, caller: CallerDep) -> Response:
    """Record that a view was materialized over a window (needs editor on the view's
    project)."""
    caller.require_on("feature_view", view, "editor")
    found = caller.store.record_feature_materialization(view, body.start, body.end, body.rows)
    return respond(found.to_dict())


@router.get(
    "/features/views/{view}/materializations",
    response_model=s.FeatureMaterializationList,
    tags=["features"],
)
def list_materializations(view: str, caller: CallerDep, limit: int = 100) -> Response:
    """A view's materializations, the latest window end first (needs viewer on the view's
    project)."""
    caller.require_on("feature_view", view, "viewer")
    found = caller.store.list_feature_materializations(view, limit)
    return respond({"materializations": [m.to_dict() for m in found]})


@router.get("/features/freshness", response_model=s.FeatureViewFreshnessList, tags=["features"])
def list_view_freshness(caller: CallerDep, project: ProjectsQuery = None) -> Response:
    """When each feature view of the projects the caller may read (and, given ``project``,
    only those) was last materialized; a view never materialized is not listed."""
    found = caller.store.list_feature_view_freshness(caller.projects_for("viewer", project))
    return respond({"views": [f.to_dict() for f in found]})
