"""REST endpoints for content-addressed blobs: the files of model versions and the Parquet
of dataset versions, stored by their sha256.

An upload names the digest it must have; the body streams to disk while it is hashed, and a
body that hashes to anything else is refused, so a blob's name always matches its content.
Reading a blob needs the viewer role on a project with a record that references it (a run
artifact, a model version's file, a dataset version, a step run's output, a monitor's
reference or report); to anyone else it is a 404, as if it were not stored. Storing a blob
needs editor on some project (content-addressed, it cannot change anyone's data) and grants
no right to read it back.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard._validation import check_digest
from shipyard.server import _schemas as s
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond
from shipyard.server._transfer import UPLOAD_ROUTE, download_route, spooled_upload, stream_blob

router = api_router()


@router.put(
    "/blobs/{digest}",
    response_model=s.BlobStored,
    tags=["blobs"],
    **UPLOAD_ROUTE,
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
    **download_route("The blob's bytes"),
)
def get_blob(digest: str, caller: CallerDep) -> StreamingResponse:
    """A blob's bytes, streamed; ``X-Shipyard-Sha256`` carries its hash (needs viewer on a
    project that references it)."""
    digest = check_digest(digest.lower())
    caller.require_blob(digest)
    return stream_blob(caller, digest, caller.store.blobs.size(digest))
