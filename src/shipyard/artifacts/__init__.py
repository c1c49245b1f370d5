"""Content-addressed blob storage (local folder by default, S3 and other fsspec backends)."""

from shipyard.artifacts._blobstore import CHUNK, BlobInfo, BlobStore, sha256_file

__all__ = ["CHUNK", "BlobInfo", "BlobStore", "sha256_file"]
