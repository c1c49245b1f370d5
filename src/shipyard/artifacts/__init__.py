"""Content-addressed blob storage (local folder by default, S3 and other fsspec backends)."""

from shipyard.artifacts._blobstore import BlobInfo, BlobStore, sha256_file

__all__ = ["BlobInfo", "BlobStore", "sha256_file"]
