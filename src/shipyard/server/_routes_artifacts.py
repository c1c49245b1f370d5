"""REST endpoints for run artifacts (streamed both ways, see ``_transfer``) and the lineage
graph.

An upload is checked against the sha256 the client announced (``X-Shipyard-Sha256``) before
the file goes into the blob store; a download carries the hash in the same header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard import _validation as v
from shipyard.entities import ArtifactInfo, LineageNode
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._http import ProjectsQuery, api_router, no_content, respond
from shipyard.server._transfer import (
    DIGEST_HEADER,
    UPLOAD_ROUTE,
    download_route,
    spooled_upload,
    stream_blob,
)

router = api_router()


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    response_model=s.ArtifactList,
    tags=["artifacts"],
    **UPLOAD_ROUTE,
)
async def upload_artifact(
    run_id: str,
    path: str,
    request: Request,
    caller: CallerDep,
    digest: Annotated[str | None, Header(alias=DIGEST_HEADER)] = None,
) -> Response:
    """Store the request body as the file ``path`` of the run's artifact tree (needs editor).

    Send ``X-Shipyard-Sha256`` with the file's sha256 to have the transfer checked.
    """
    v.check_artifact_path(path)
    await run_in_threadpool(caller.require_run, run_id, "editor")
    async with spooled_upload(request, caller.backend.max_upload_bytes, digest) as spool:
        files = await run_in_threadpool(caller.store.log_artifact, run_id, spool, path)
    return respond({"artifacts": [f.to_dict() for f in files]})


@router.get("/runs/{run_id}/artifacts", response_model=s.ArtifactList, tags=["artifacts"])
def list_artifacts(run_id: str, caller: CallerDep, prefix: str = "") -> Response:
    """Files of a run's artifact tree under ``prefix`` (a folder or a file path)."""
    caller.require_run(run_id, "viewer")
    files = caller.store.list_artifacts(run_id, prefix)
    return respond({"artifacts": [f.to_dict() for f in files]})


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    tags=["artifacts"],
    **download_route("The file's bytes"),
)
def download_artifact(run_id: str, path: str, caller: CallerDep) -> StreamingResponse:
    """One file of a run's artifact tree, streamed; ``X-Shipyard-Sha256`` carries its hash."""
    info = _one_file(caller, run_id, v.check_artifact_path(path))
    return stream_blob(caller, info.digest, info.size)


def _one_file(caller: Caller, run_id: str, path: str) -> ArtifactInfo:
    caller.require_run(run_id, "viewer")
    for info in caller.store.list_artifacts(run_id, path):
        if info.path == path:
            return info
        raise InvalidArgument(
            f"{path!r} is a folder of run {run_id}'s artifacts; download its files one by one",
            field="path",
        )
    raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")


# ----------------------------------------------------------------------------- lineage


@router.post("/lineage/edges", status_code=204, tags=["lineage"])
def add_lineage_edges(body: s.AddEdges, caller: CallerDep) -> Response:
    """Record lineage edges (idempotent; needs editor on the project of both ends of every
    edge)."""
    caller.store.add_lineage_edges(caller.lineage_edges(body.edges))
    return no_content()


@router.get("/lineage", response_model=s.EdgeList, tags=["lineage"])
def get_lineage(
    caller: CallerDep,
    kind: Annotated[str, Query()],
    id: Annotated[str, Query()],
    direction: str = "up",
    max_depth: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    project: ProjectsQuery = None,
) -> Response:
    """Edges reachable from a node, upstream (``up``) or downstream (``down``): needs viewer
    on the node's project, and the walk stops at nodes of projects the caller may not read
    (their edges are left out), as it does at nodes outside ``project`` when given."""
    node = LineageNode(kind, id)
    caller.require_node(node, "viewer")
    wanted = caller.projects_for("viewer", project)
    edges = caller.store.get_lineage(node, direction, max_depth, wanted)
    return respond({"edges": [e.to_dict() for e in edges]})
