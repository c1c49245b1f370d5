"""REST endpoints for datasets and their versions.

A dataset version is created in two requests: the client uploads the canonical Parquet file
as a blob (``PUT /blobs/{digest}``, hashed on arrival), then posts the version's metadata
naming that digest. The server refuses a digest it does not hold (404) and takes the size
from its blob store, not from the caller.

A dataset (with its versions) belongs to a project: reading needs the viewer role there,
creating a version the editor role (the dataset's project, or, for its first version, the
project the body names). Listing covers only the projects the caller may read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from shipyard import _validation as v
from shipyard.errors import NotFound
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._http import ProjectsQuery, api_router, respond

router = api_router()
Version = Annotated[int, Path(ge=-s.INT64, le=s.INT64)]


@router.get("/datasets", response_model=s.DatasetList, tags=["datasets"])
def list_datasets(caller: CallerDep, project: ProjectsQuery = None) -> Response:
    """Every dataset of the projects the caller may read (and, given ``project``, only
    those) with its latest version number and version count, by name."""
    found = caller.store.list_datasets(caller.projects_for("viewer", project))
    return respond({"datasets": [d.to_dict() for d in found]})


@router.get("/datasets/{name}/versions", response_model=s.DatasetVersionList, tags=["datasets"])
def list_dataset_versions(name: str, caller: CallerDep) -> Response:
    """A dataset's versions, newest first."""
    caller.require_on("dataset", name, "viewer")
    found = caller.store.list_dataset_versions(name)
    return respond({"versions": [d.to_dict() for d in found]})


@router.post("/datasets/{name}/versions", response_model=s.DatasetVersionOut, tags=["datasets"])
def create_dataset_version(name: str, body: s.CreateDatasetVersion, caller: CallerDep) -> Response:
    """Make the uploaded blob ``digest`` the next version of ``name`` (needs editor on the
    dataset's project; a new dataset is created in the project the body names). Content the
    dataset holds already returns the existing version."""
    caller.require_put("dataset", name, v.check_project(body.project), "editor")
    version = caller.store.create_dataset_version_from_blob(
        name,
        v.check_digest(body.digest),
        num_rows=body.num_rows,
        schema=body.schema_,
        profile=body.profile,
        source=body.source,
        description=body.description,
        project=body.project,
    )
    return respond(version.to_dict())


@router.get(
    "/datasets/{name}/versions/latest", response_model=s.DatasetVersionOut, tags=["datasets"]
)
def get_latest_dataset_version(name: str, caller: CallerDep) -> Response:
    """The newest version of a dataset."""
    caller.require_on("dataset", name, "viewer")
    return respond(caller.store.get_dataset_version(name).to_dict())


@router.get(
    "/datasets/{name}/versions/{version}", response_model=s.DatasetVersionOut, tags=["datasets"]
)
def get_dataset_version(name: str, version: Version, caller: CallerDep) -> Response:
    """One version of a dataset by number."""
    caller.require_on("dataset", name, "viewer")
    return respond(caller.store.get_dataset_version(name, version).to_dict())


@router.get(
    "/datasets/{name}/by-hash/{content_hash}",
    response_model=s.DatasetVersionFound,
    tags=["datasets"],
)
def find_dataset_version(name: str, content_hash: str, caller: CallerDep) -> Response:
    """The version of ``name`` with exactly this content (``null`` when there is none; a
    dataset that does not exist has none)."""
    if caller.backend.auth:
        try:
            caller.require_on("dataset", name, "viewer")
        except NotFound:
            return respond({"version": None})
    found = caller.store.find_dataset_version(name, content_hash)
    return respond({"version": None if found is None else found.to_dict()})


@router.get("/dataset-versions/{version_id}", response_model=s.DatasetVersionOut, tags=["datasets"])
def get_dataset_version_by_id(version_id: str, caller: CallerDep) -> Response:
    """A dataset version by its id (as lineage nodes name it)."""
    caller.require_on("dataset_version", version_id, "viewer")
    return respond(caller.store.get_dataset_version_by_id(version_id).to_dict())
