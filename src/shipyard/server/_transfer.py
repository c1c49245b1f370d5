"""File transfer over HTTP, shared by the endpoints that move bytes (run artifacts, blobs).

An upload is streamed into a temporary file while it is hashed and counted; past the
configured size limit it stops with 413, and a digest that differs from the one the client
announced (``X-Shipyard-Sha256``) is refused. Only then does the file go into the blob store.
A download streams the blob in chunks, with its sha256 in the same header so the client can
verify what it read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from shipyard.artifacts import CHUNK
from shipyard.errors import InvalidArgument, TooLarge
from shipyard.server._access import Caller

DIGEST_HEADER = "X-Shipyard-Sha256"
BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}

#: Route options of an endpoint whose body is a file: documented as binary, and exempt from
#: the JSON body limit (it streams to disk; the backend's ``max_upload_bytes`` applies).
UPLOAD_ROUTE: dict[str, Any] = {
    "openapi_extra": {"requestBody": {"required": True, "content": BINARY}},
    "max_body_size": 2**62,
}


def download_route(description: str) -> dict[str, Any]:
    """Route options of an endpoint that answers with a file's bytes (``description``)."""
    return {
        "response_class": StreamingResponse,
        "responses": {200: {"content": BINARY, "description": description}},
    }


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
