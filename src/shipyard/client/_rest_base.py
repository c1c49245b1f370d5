"""What every area of RestStore works with: the settings, the connection to one Shipyard
server (``Http``), its limits, and verified file transfers.

Files are content-addressed: uploads stream from disk with their sha256 announced, so the
server refuses a body that arrives different; downloads stream to a temporary file that is
hashed on the way and moved into place only when it matches.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from shipyard.artifacts import CHUNK, BlobInfo, sha256_file
from shipyard.client._credentials import find_token
from shipyard.client._http import Http
from shipyard.config import Settings
from shipyard.errors import IntegrityError, ServiceUnavailable, TooLarge

DIGEST_HEADER = "X-Shipyard-Sha256"


class RestBase:
    """The connection of one RestStore to its server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = Http(settings, find_token(settings))
        self._info: dict[str, Any] | None = None

    def server_info(self) -> dict[str, Any]:
        """The server's version, whether it requires tokens, and its upload size limit."""
        if self._info is None:
            self._info = self.http.send("GET", "/info")
        return self._info

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _refuse_too_large(self, sources: Sequence[Path]) -> None:
        """Refuse (413, before sending anything) a file larger than the server accepts."""
        limit = int(self.server_info()["max_upload_bytes"])
        for source in sources:
            size = source.stat().st_size
            if size > limit:
                raise TooLarge(
                    f"{source} is larger than the server accepts ({size:,} > {limit:,} bytes); "
                    "raise SHIPYARD_MAX_UPLOAD_BYTES on the server or split the file",
                    field="body",
                    limit=limit,
                )

    def _upload(self, path: str, source: Path, info: BlobInfo | None = None) -> Any:
        """PUT a file to ``path``, streamed from disk with its sha256 (``info``, computed
        when None) announced; the server's answer."""
        info = info or sha256_file(source)
        return self.http.send(
            "PUT",
            path,
            content=lambda: _file_chunks(source),
            headers={DIGEST_HEADER: info.digest, "Content-Length": str(info.size)},
            idempotent=True,  # content-addressed: a repeat stores the same bytes under one name
        )

    def _download(self, path: str, dest: Path, digest: str, what: str) -> Path:
        """Stream the GET ``path`` to ``dest``: written to a temporary file while hashed,
        moved into place only when its sha256 is ``digest`` (IntegrityError otherwise, and
        nothing is left)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex}")
        hasher = hashlib.sha256()
        try:
            response = self.http.stream(path)
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


def _file_chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in CHUNK-sized pieces (an upload body that never sits in memory)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk
