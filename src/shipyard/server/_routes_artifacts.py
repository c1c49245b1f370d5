"""REST endpoints for run artifacts (streamed both ways) and the lineage graph.

An upload is streamed into a temporary file while it is hashed and counted; past the
configured size limit it stops with 413, and a digest that differs from the one the client
announced (``X-Shipyard-Sha256``) is refused. Only then does the file go into the blob store.
A download streams the blob in chunks and is verified against its hash as it is read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard import _validation as v
from shipyard.artifacts._blobstore import CHUNK
from shipyard.entities import ArtifactInfo, LineageEdge, LineageNode
from shipyard.errors import InvalidArgument, NotFound, TooLarge
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep
from shipyard.server._routes_tracking import (
    API,
    ERRORS,
    JSON_BODY_LIMIT,
    no_content,
    respond,
)

router = APIRouter(prefix=API, responses=ERRORS, max_body_size=JSON_BODY_LIMIT)
DIGEST_HEADER = "X-Shipyard-Sha256"
BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    response_model=s.ArtifactList,
    tags=["artifacts"],
    openapi_extra={"requestBody": {"required": True, "content": BINARY}},
    max_body_size=2**62,  # streamed to disk; the backend's max_upload_bytes applies
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


@asynccontextmanager
async def spooled_upload(request: Request, limit: int, digest: str | None) -> AsyncIterator[Path]:
    """The request body in a temporary file, hashed and counted while it streams in: past
    ``limit`` bytes it stops with 413, and a body whose sha256 is not ``digest`` (when given)
    is refused. The file is removed when the block ends."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    fd, spool = tempfile.mkstemp(prefix="shipyard-upload-")
    try:
        hasher = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit)
                hasher.update(chunk)
                out.write(chunk)
        actual = hasher.hexdigest()
        if digest is not None and digest.lower() != actual:
            raise InvalidArgument(
                f"the upload was corrupted in transit: its content hashes to {actual}, but "
                f"{DIGEST_HEADER} says {digest!r}; send it again",
                field=DIGEST_HEADER,
            )
        yield Path(spool)
    finally:
        os.unlink(spool)


def stream_blob(caller: Caller, digest: str, size: int) -> StreamingResponse:
    """A stored blob as a streamed response, with its sha256 in ``X-Shipyard-Sha256``."""
    blobs = caller.store.blobs

    def chunks() -> Iterator[bytes]:
        with blobs.open(digest) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    headers = {DIGEST_HEADER: digest, "Content-Length": str(size)}
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


def _too_large(size: int, limit: int) -> TooLarge:
    return TooLarge(
        f"the upload is larger than this server accepts ({size:,} > {limit:,} bytes); raise "
        "SHIPYARD_MAX_UPLOAD_BYTES on the server or split the artifact",
        field="body",
        limit=limit,
    )


@router.get("/runs/{run_id}/artifacts", response_model=s.ArtifactList, tags=["artifacts"])
def list_artifacts(run_id: str, caller: CallerDep, prefix: str = "") -> Response:
    """Files of a run's artifact tree under ``prefix`` (a folder or a file path)."""
    caller.require_run(run_id, "viewer")
    files = caller.store.list_artifacts(run_id, prefix)
    return respond({"artifacts": [f.to_dict() for f in files]})


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    tags=["artifacts"],
    response_class=StreamingResponse,
    responses={200: {"content": BINARY, "description": "The file's bytes"}},
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
    """Record lineage edges (idempotent; needs editor somewhere, and on any run named)."""
    caller.require_somewhere("editor")
    edges = [LineageEdge.from_dict(edge.model_dump()) for edge in body.edges]
    for edge in edges:
        for node in (edge.src, edge.dst):
            if node.kind == "run":
                caller.require_run(node.id, "editor")
    caller.store.add_lineage_edges(edges)
    return no_content()


@router.get("/lineage", response_model=s.EdgeList, tags=["lineage"])
def get_lineage(
    caller: CallerDep,
    kind: Annotated[str, Query()],
    id: Annotated[str, Query()],
    direction: str = "up",
    max_depth: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> Response:
    """Edges reachable from a node, upstream (``up``) or downstream (``down``)."""
    caller.require_somewhere("viewer")
    edges = caller.store.get_lineage(LineageNode(kind, id), direction, max_depth)
    return respond({"edges": [e.to_dict() for e in edges]})
