"""REST endpoints for datasets and their versions.

A dataset version is created in two requests: the client uploads the canonical Parquet file
as a blob (``PUT /blobs/{digest}``, hashed on arrival), then posts the version's metadata
naming that digest. The server refuses a digest it does not hold (404) and takes the size
from its blob store, not from the caller.

Datasets are not per project yet: reading needs the viewer role on some project, creating a
version the editor role on some project.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from shipyard import _validation as v
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond

router = api_router()
Version = Annotated[int, Path(ge=-s.INT64, le=s.INT64)]


@router.get("/datasets", response_model=s.DatasetList, tags=["datasets"])
def list_datasets(caller: CallerDep) -> Response:
    """Every dataset with its latest version number and version count, by name."""
    caller.require_somewhere("viewer")
    return respond({"datasets": [d.to_dict() for d in caller.store.list_datasets()]})


@router.get("/datasets/{name}/versions", response_model=s.DatasetVersionList, tags=["datasets"])
def list_dataset_versions(name: str, caller: CallerDep) -> Response:
    """A dataset's versions, newest first."""
    caller.require_somewhere("viewer")
    found = caller.store.list_dataset_versions(name)
    return respond({"versions": [d.to_dict() for d in found]})


@router.post("/datasets/{name}/versions", response_model=s.DatasetVersionOut, tags=["datasets"])
def create_dataset_version(name: str, body: s.CreateDatasetVersion, caller: CallerDep) -> Response:
    """Make the uploaded blob ``digest`` the next version of ``name`` (needs editor
    somewhere). Content the dataset holds already returns the existing version."""
    caller.require_somewhere("editor")
    version = caller.store.create_dataset_version_from_blob(
        name,
        v.check_digest(body.digest),
        num_rows=body.num_rows,
        schema=body.schema_,
        profile=body.profile,
        source=body.source,
        description=body.description,
    )
    return respond(version.to_dict())


@router.get(
    "/datasets/{name}/versions/latest", response_model=s.DatasetVersionOut, tags=["datasets"]
)
def get_latest_dataset_version(name: str, caller: CallerDep) -> Response:
    """The newest version of a dataset."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_dataset_version(name).to_dict())


@router.get(
    "/datasets/{name}/versions/{version}", response_model=s.DatasetVersionOut, tags=["datasets"]
)
def get_dataset_version(name: str, version: Version, caller: CallerDep) -> Response:
    """One version of a dataset by number."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_dataset_version(name, version).to_dict())


@router.get(
    "/datasets/{name}/by-hash/{content_hash}",
    response_model=s.DatasetVersionFound,
    tags=["datasets"],
)
def find_dataset_version(name: str, content_hash: str, caller: CallerDep) -> Response:
    """The version of ``name`` with exactly this content (``null`` when there is none)."""
    caller.require_somewhere("viewer")
    found = caller.store.find_dataset_version(name, content_hash)
    return respond({"version": None if found is None else found.to_dict()})


@router.get("/dataset-versions/{version_id}", response_model=s.DatasetVersionOut, tags=["datasets"])
def get_dataset_version_by_id(version_id: str, caller: CallerDep) -> Response:
    """A dataset version by its id (as lineage nodes name it)."""
    caller.require_somewhere("viewer")
    return respond(caller.store.get_dataset_version_by_id(version_id).to_dict())
