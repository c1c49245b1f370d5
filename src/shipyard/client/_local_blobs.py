"""LocalStore's blobs: files in the content-addressed blob store, verified when read."""

from __future__ import annotations

from pathlib import Path

from shipyard.artifacts import sha256_file
from shipyard.client._blobs import BlobsStore
from shipyard.client._local_base import LocalBase
from shipyard.errors import IntegrityError, NotFound


class LocalBlobs(LocalBase, BlobsStore):
    """Blobs by digest, in the blob store the settings name."""

    def put_blob(self, local_path: Path) -> str:
        return self.blobs.put_file(local_path).digest

    def download_blob(self, digest: str, dest: Path) -> Path:
        return self.blobs.get_file(digest, Path(dest))

    def fetch_blob(self, digest: str) -> Path:
        local = self.blobs.local_path(digest)
        if local is None:
            local = self.settings.home / "cache" / "blobs" / digest
            if not local.exists():
                return self.blobs.get_file(digest, local)  # verified while copying
        if not local.exists():
            raise NotFound(f"blob {digest} is not in the artifact store", field="digest")
        actual = sha256_file(local).digest
        if actual != digest:
            raise IntegrityError(
                f"blob {digest} is corrupted: its content hashes to {actual}; restore it from "
                "a backup or register the data again",
                expected=digest,
                actual=actual,
            )
        return local
