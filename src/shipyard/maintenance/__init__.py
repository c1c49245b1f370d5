"""Keeping the stores healthy: ``fsck`` checks that every record's blobs are present and
intact and that no version is half-registered; ``gc`` removes what nothing needs (stale
temporary files and scratch folders, unreferenced blobs). Both work on the metadata database
and blob store the settings name (SQLite or PostgreSQL, a local folder or S3), so on a
server deployment they run on the server's host with the server's settings."""

from shipyard.maintenance._fsck import FsckReport, Problem, fsck
from shipyard.maintenance._gc import DEFAULT_GRACE_S, Garbage, GcReport, gc
from shipyard.maintenance._open import open_local

__all__ = [
    "DEFAULT_GRACE_S",
    "FsckReport",
    "Garbage",
    "GcReport",
    "Problem",
    "fsck",
    "gc",
    "open_local",
]
