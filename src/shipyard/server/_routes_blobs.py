"""REST endpoints for content-addressed blobs: the files of model versions and the Parquet
of dataset versions, stored by their sha256.

An upload names the digest it must have; the body streams to disk while it is hashed, and a
body that hashes to anything else is refused, so a blob's name always matches its content.
Reading a blob needs the viewer role on some project: a digest is only known to someone who
was shown a record (model version, dataset version) that lists it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard._validation import check_digest
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._routes_artifacts import BINARY, spooled_upload, stream_blob
from shipyard.server._routes_tracking import API, ERRORS, JSON_BODY_LIMIT, respond

router = APIRouter(prefix=API, responses=ERRORS, max_body_size=JSON_BODY_LIMIT)


@router.put(
    "/blobs/{digest}",
    response_model=s.BlobStored,
    tags=["blobs"],
    openapi_extra={"requestBody": {"required": True, "content": BINARY}},
    max_body_size=2**62,  # streamed to disk; the backend's max_upload_bytes applies
)
async def put_blob(digest: str, request: Request, caller: CallerDep) -> Response:
    """Store the request body as the blob ``digest`` (its sha256; needs editor somewhere).
    Storing a blob that exists already is a no-op."""
    digest = check_digest(digest.lower())
    await run_in_threadpool(caller.require_somewhere, "editor")
    async with spooled_upload(request, caller.backend.max_upload_bytes, digest) as spool:
        stored = await run_in_threadpool(caller.store.put_blob, spool)
        size = spool.stat().st_size
    return respond({"digest": stored, "size": size})


@router.get(
    "/blobs/{digest}",
    tags=["blobs"],
    response_class=StreamingResponse,
    responses={200: {"content": BINARY, "description": "The blob's bytes"}},
)
def get_blob(digest: str, caller: CallerDep) -> StreamingResponse:
    """A blob's bytes, streamed; ``X-Shipyard-Sha256`` carries its hash (needs viewer
    somewhere)."""
    digest = check_digest(digest.lower())
    caller.require_somewhere("viewer")
    return stream_blob(caller, digest, caller.store.blobs.size(digest))
