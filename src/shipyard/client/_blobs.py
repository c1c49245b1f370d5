"""The blob slice of the Store protocol: content-addressed files named by their sha256
(model files and dataset versions are stored as blobs), verified whenever they are read."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks


@runtime_checkable
class BlobsStore(Protocol):
    """Put and get blobs by digest."""

    def put_blob(self, local_path: Path) -> str:
        """Store a local file as a blob (nothing is copied when it is stored already);
        returns its sha256 digest."""
        ...

    @checks(digest=v.check_digest)
    def fetch_blob(self, digest: str) -> Path:
        """A local file with the blob's content, checked against its digest (IntegrityError
        when it does not match): the store's own file when it is local (read only), else a
        copy cached under ``<home>/cache/blobs``."""
        ...

    @checks(digest=v.check_digest)
    def download_blob(self, digest: str, dest: Path) -> Path:
        """Copy one blob to ``dest``, verified against its sha256 (IntegrityError when it does
        not match, and nothing is left at ``dest``)."""
        ...
