"""REST endpoints of the model registry: registered models, versions, aliases, promotion
gates and the alias history.

Models belong to a project, and the caller's role there decides what they may do: a viewer
reads, an editor creates models, registers versions and edits descriptions and tags, a
maintainer moves and deletes aliases, promotes and deletes. A version's files are uploaded as
blobs first (``PUT /blobs/{digest}``); registering only lists them. With authentication on,
the server records the authenticated user as the actor of an alias move and the creator of a
version, whatever the request says.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from shipyard import _validation as v
from shipyard.entities import ArtifactInfo
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import ProjectsQuery, api_router, no_content, respond

router = api_router()
Version = Annotated[int, Path(ge=1, le=s.INT64)]
MAX_LIST = 10_000


def require_model(caller: Caller, name: str, role: str) -> None:
    """Refuse unless the caller has ``role`` on the model's project (NotFound without a model;
    no look-up at all without authentication)."""
    if caller.backend.auth:
        project = caller.store.model_project(name)
        if project is None:
            project = caller.store.get_registered_model(name).project  # the usual NotFound
        caller.require(project, role)


def _who(caller: Caller, claimed: str) -> str:
    """The name to record for a change: the authenticated user when there is one."""
    return caller.user.name if caller.backend.auth else claimed


# ----------------------------------------------------------------------------- models


@router.post("/models", response_model=s.RegisteredModelOut, tags=["models"])
def create_model(body: s.CreateModel, caller: CallerDep) -> Response:
    """Create a registered model in a project (needs editor there)."""
    caller.require(v.check_project(body.project), "editor")
    owner = body.owner or _who(caller, "")
    model = caller.store.create_registered_model(
        body.name, body.description, body.tags, owner, body.project
    )
    return respond(model.to_dict())


@router.get("/models", response_model=s.ModelList, tags=["models"])
def list_models(
    caller: CallerDep,
    name_like: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 1000,
    project: ProjectsQuery = None,
) -> Response:
    """Models by name, in the projects the caller may read (and, given ``project``, only
    those); ``name_like`` is a case-insensitive substring. The filters apply before
    ``limit``, so a page is never emptied by models the caller may not see."""
    wanted = caller.projects_for("viewer", project)
    found = caller.store.list_registered_models(name_like, limit, wanted)
    return respond({"models": [m.to_dict() for m in found]})


@router.get("/models/{name}", response_model=s.RegisteredModelOut, tags=["models"])
def get_model(name: str, caller: CallerDep) -> Response:
    """A model with its tags, latest version number and aliases."""
    require_model(caller, name, "viewer")
    return respond(caller.store.get_registered_model(name).to_dict())


@router.patch("/models/{name}", response_model=s.RegisteredModelOut, tags=["models"])
def update_model(name: str, body: s.DescribeModel, caller: CallerDep) -> Response:
    """Change a model's description and set tags (needs editor)."""
    require_model(caller, name, "editor")
    model = caller.store.update_registered_model(name, body.description, body.tags)
    return respond(model.to_dict())


@router.delete("/models/{name}/tags/{key}", status_code=204, tags=["models"])
def delete_model_tag(name: str, key: str, caller: CallerDep) -> Response:
    """Remove a model tag (needs editor)."""
    require_model(caller, name, "editor")
    caller.store.delete_registered_model_tag(name, key)
    return no_content()


@router.delete("/models/{name}", status_code=204, tags=["models"])
def delete_model(name: str, caller: CallerDep) -> Response:
    """Delete a model with its versions, aliases and alias history (needs maintainer)."""
    require_model(caller, name, "maintainer")
    caller.store.delete_registered_model(name)
    return no_content()


# ----------------------------------------------------------------------------- versions


@router.post("/models/{name}/versions", response_model=s.ModelVersionOut, tags=["models"])
def create_version(name: str, body: s.CreateModelVersion, caller: CallerDep) -> Response:
    """Register the next version of a model from files already stored as blobs; the model is
    created in ``project`` if it does not exist (needs editor on the model's project, and
    viewer on the source run's)."""
    if body.run_id is not None:
        caller.require_run(body.run_id, "viewer")
    if caller.backend.auth:
        project = caller.store.model_project(name) or v.check_project(body.project)
        caller.require(project, "editor")
    version = caller.store.create_model_version(
        name,
        [ArtifactInfo(f.path, f.digest, f.size) for f in body.files],
        flavor=body.flavor,
        source=body.source,
        run_id=body.run_id,
        signature=body.signature,
        metrics={k: float(x) for k, x in body.metrics.items()},
        requirements=body.requirements,
        python_version=body.python_version,
        metadata=body.metadata,
        description=body.description,
        tags=body.tags,
        created_by=_who(caller, body.created_by),
        project=body.project,
    )
    return respond(version.to_dict())


@router.get("/models/{name}/versions", response_model=s.ModelVersionList, tags=["models"])
def list_versions(name: str, caller: CallerDep) -> Response:
    """Every version of a model, newest first."""
    require_model(caller, name, "viewer")
    found = caller.store.list_model_versions(name)
    return respond({"versions": [mv.to_dict() for mv in found]})


@router.get("/models/{name}/versions/{version}", response_model=s.ModelVersionOut, tags=["models"])
def get_version(name: str, version: Version, caller: CallerDep) -> Response:
    """One version of a model."""
    require_model(caller, name, "viewer")
    return respond(caller.store.get_model_version(name, version).to_dict())


@router.get("/model-versions/{version_id}", response_model=s.ModelVersionOut, tags=["models"])
def get_version_by_id(version_id: str, caller: CallerDep) -> Response:
    """A model version by its id (as lineage names it)."""
    found = caller.store.get_model_version_by_id(version_id)
    require_model(caller, found.name, "viewer")
    return respond(found.to_dict())


@router.patch(
    "/models/{name}/versions/{version}", response_model=s.ModelVersionOut, tags=["models"]
)
def update_version(
    name: str, version: Version, body: s.DescribeModelVersion, caller: CallerDep
) -> Response:
    """Change a version's description, set tags and record evaluation metrics; its files
    never change (needs editor)."""
    require_model(caller, name, "editor")
    metrics = {k: float(x) for k, x in body.metrics.items()}
    found = caller.store.update_model_version(name, version, body.description, body.tags, metrics)
    return respond(found.to_dict())


@router.delete("/models/{name}/versions/{version}/tags/{key}", status_code=204, tags=["models"])
def delete_version_tag(name: str, version: Version, key: str, caller: CallerDep) -> Response:
    """Remove a version tag (needs editor)."""
    require_model(caller, name, "editor")
    caller.store.delete_model_version_tag(name, version, key)
    return no_content()


@router.delete("/models/{name}/versions/{version}", status_code=204, tags=["models"])
def delete_version(name: str, version: Version, caller: CallerDep) -> Response:
    """Delete a version; refused (409) while an alias points at it (needs maintainer)."""
    require_model(caller, name, "maintainer")
    caller.store.delete_model_version(name, version)
    return no_content()


# ----------------------------------------------------------------------------- aliases


@router.get("/models/{name}/aliases/{alias}", response_model=s.ModelVersionOut, tags=["models"])
def get_version_by_alias(name: str, alias: str, caller: CallerDep) -> Response:
    """The version an alias points at (``latest``: the highest version)."""
    require_model(caller, name, "viewer")
    return respond(caller.store.get_model_version_by_alias(name, alias).to_dict())


@router.put("/models/{name}/aliases/{alias}", response_model=s.AliasEventOut, tags=["models"])
def set_alias(name: str, alias: str, body: s.SetAlias, caller: CallerDep) -> Response:
    """Move an alias to a version if every rule in ``requires`` passes (``force`` moves it
    anyway, recorded as forced); the attempt is recorded in the alias history either way,
    except a ``dry_run``, which changes nothing. A rejected promotion answers 200 with
    outcome ``rejected`` (needs maintainer; a dry run, which only evaluates the rules, needs
    viewer)."""
    require_model(caller, name, "viewer" if body.dry_run else "maintainer")
    event = caller.store.set_model_alias(
        name,
        alias,
        body.version,
        requires=body.requires,
        force=body.force,
        reason=body.reason,
        actor=_who(caller, body.actor),
        dry_run=body.dry_run,
    )
    return respond(event.to_dict())


@router.delete("/models/{name}/aliases/{alias}", response_model=s.AliasEventOut, tags=["models"])
def delete_alias(
    name: str,
    alias: str,
    caller: CallerDep,
    reason: str = "",
    actor: Annotated[str, Query(max_length=256)] = "",
) -> Response:
    """Remove an alias, recorded in the alias history (needs maintainer)."""
    require_model(caller, name, "maintainer")
    event = caller.store.delete_model_alias(
        name, alias, reason=v.check_text(reason, "reason"), actor=_who(caller, actor)
    )
    return respond(event.to_dict())


@router.get("/models/{name}/alias-events", response_model=s.AliasEventList, tags=["models"])
def alias_events(
    name: str,
    caller: CallerDep,
    alias: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> Response:
    """A model's alias history (one alias, or all), newest first."""
    require_model(caller, name, "viewer")
    found = caller.store.list_alias_events(name, alias, limit)
    return respond({"events": [event.to_dict() for event in found]})
