"""Content-addressed blob storage (local folder by default, S3 and other fsspec backends),
and the scratch files writers stage blobs in."""

from shipyard.artifacts._blobstore import (
    CHUNK,
    TMP_MARK,
    BlobInfo,
    BlobStore,
    StoredFile,
    sha256_file,
)
from shipyard.artifacts._scratch import (
    NO_ROOM,
    SCRATCH_PREFIX,
    WRITER_PREFIXES,
    room_needed,
    scratch_dir,
    scratch_file,
)

__all__ = [
    "CHUNK",
    "NO_ROOM",
    "SCRATCH_PREFIX",
    "TMP_MARK",
    "WRITER_PREFIXES",
    "BlobInfo",
    "BlobStore",
    "StoredFile",
    "room_needed",
    "scratch_dir",
    "scratch_file",
    "sha256_file",
]
