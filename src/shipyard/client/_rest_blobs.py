"""RestStore's blobs: content-addressed files streamed to and from ``/api/v1/blobs``, with
a verified local cache."""

from __future__ import annotations

from pathlib import Path

from shipyard.artifacts import sha256_file
from shipyard.client._blobs import BlobsStore
from shipyard.client._rest_base import RestBase


class RestBlobs(RestBase, BlobsStore):
    """Blobs by digest, kept by the server."""

    def put_blob(self, local_path: Path) -> str:
        """The file is refused before it is sent when it is larger than the server accepts."""
        source = Path(local_path)
        self._refuse_too_large([source])
        info = sha256_file(source)
        return str(self._upload(f"/blobs/{info.digest}", source, info)["digest"])

    def download_blob(self, digest: str, dest: Path) -> Path:
        return self._download(f"/blobs/{digest}", Path(dest), digest, f"blob {digest}")

    def fetch_blob(self, digest: str) -> Path:
        """A cached copy is re-hashed before it is handed out, and fetched again if it
        changed."""
        local = self.settings.home / "cache" / "blobs" / digest
        if local.exists() and sha256_file(local).digest == digest:
            return local
        return self.download_blob(digest, local)
