"""Blob transfers of RestStore: content-addressed files streamed to and from the server.

Model versions and dataset versions are stored as blobs named by their sha256. Uploads
stream from disk with the digest announced, so the server refuses a body that arrives
different; downloads stream to a temporary file that is hashed on the way and moved into
place only when it matches.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from shipyard import _validation as v
from shipyard.artifacts import sha256_file
from shipyard.artifacts._blobstore import CHUNK
from shipyard.client._http import Http
from shipyard.config import Settings
from shipyard.errors import IntegrityError, ServiceUnavailable, TooLarge

DIGEST_HEADER = "X-Shipyard-Sha256"


def file_chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in CHUNK-sized pieces (an upload body that never sits in memory)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def check_upload_size(source: Path, limit: int) -> None:
    """Refuse (413, before sending anything) a file larger than the server accepts."""
    size = source.stat().st_size
    if size > limit:
        raise TooLarge(
            f"{source} is larger than the server accepts ({size:,} > {limit:,} bytes); "
            "raise SHIPYARD_MAX_UPLOAD_BYTES on the server or split the file",
            field="body",
            limit=limit,
        )


def download_verified(http: Http, path: str, dest: Path, digest: str, what: str) -> Path:
    """Stream the GET ``path`` to ``dest``: written to a temporary file while hashed, moved
    into place only when its sha256 is ``digest`` (IntegrityError otherwise, nothing left)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex}")
    hasher = hashlib.sha256()
    try:
        response = http.stream(path)
        try:
            with open(tmp, "wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the download of {what} broke off ({exc}); try again"
            ) from None
        finally:
            response.close()
        if hasher.hexdigest() != digest:
            raise IntegrityError(
                f"{what} arrived corrupted (sha256 {hasher.hexdigest()}, expected {digest}); "
                "download it again",
                expected=digest,
                actual=hasher.hexdigest(),
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


class RestBlobsMixin:
    """put_blob / fetch_blob / download_blob over ``/api/v1/blobs``."""

    http: Http
    settings: Settings

    def server_info(self) -> dict[str, Any]:
        raise NotImplementedError  # provided by RestStore

    def put_blob(self, local_path: Path) -> str:
        """Upload a local file as a blob (a no-op on the server when it exists); its digest."""
        source = Path(local_path)
        check_upload_size(source, int(self.server_info()["max_upload_bytes"]))
        info = sha256_file(source)
        stored = self.http.send(
            "PUT",
            f"/blobs/{info.digest}",
            content=lambda: file_chunks(source),
            headers={DIGEST_HEADER: info.digest, "Content-Length": str(info.size)},
        )
        return str(stored["digest"])

    def download_blob(self, digest: str, dest: Path) -> Path:
        """Copy one blob to ``dest``, verified against its sha256."""
        digest = v.check_digest(digest)
        return download_verified(
            self.http, f"/blobs/{digest}", Path(dest), digest, f"blob {digest}"
        )

    def fetch_blob(self, digest: str) -> Path:
        """A local, verified copy of a blob, cached under ``<home>/cache/blobs``: a cached
        copy is re-hashed before it is handed out, and fetched again if it changed."""
        digest = v.check_digest(digest)
        local = self.settings.home / "cache" / "blobs" / digest
        if local.exists() and sha256_file(local).digest == digest:
            return local
        return self.download_blob(digest, local)
