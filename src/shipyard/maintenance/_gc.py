"""``gc``: remove what nothing needs: blob temporary files and writers' scratch folders left
by killed processes, and blobs no record references.

Safe against a concurrent writer: nothing modified within the grace period is touched (a
writer stores a blob before it records the reference, and storing an existing blob refreshes
its modification time), a blob's age is checked again just before it is deleted, and the
set of referenced digests is read after the blobs are listed. A blob any record mentions,
in any column, is never deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shipyard.artifacts import WRITER_PREFIXES, BlobStore, StoredFile
from shipyard.config import Settings
from shipyard.errors import InvalidArgument
from shipyard.maintenance._open import open_local
from shipyard.store import maintenance_db

#: The default grace period: files younger than an hour may belong to a writer at work.
DEFAULT_GRACE_S = 3600.0

GarbageKind = Literal["temp_file", "scratch", "blob"]


@dataclass(frozen=True)
class Garbage:
    """One thing gc removes (or, in a dry run, would remove)."""

    kind: GarbageKind
    location: str
    size: int
    age_s: float


@dataclass
class GcReport:
    """What gc removed (``dry_run``: would remove) and how much younger garbage it kept."""

    items: list[Garbage] = field(default_factory=list)
    dry_run: bool = False
    kept_young: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.items)


def gc(
    settings: Settings | None = None,
    *,
    dry_run: bool = False,
    grace_s: float = DEFAULT_GRACE_S,
    temp_dir: str | os.PathLike[str] | None = None,
) -> GcReport:
    """Remove stale temporary files and scratch folders, and unreferenced blobs.

    Args:
        settings: The database and blob store; the configured ones by default.
        dry_run: List what would go and its size; remove nothing.
        grace_s: Leave alone anything modified less than this many seconds ago.
        temp_dir: Where writers' scratch folders live; the system temp directory by default.
    """
    if isinstance(grace_s, bool) or not isinstance(grace_s, (int, float)) or not grace_s >= 0:
        raise InvalidArgument(
            f"grace must be a number of seconds >= 0, got {grace_s!r}", field="grace"
        )
    store = open_local(settings)
    report = GcReport(dry_run=dry_run)
    now = time.time()
    blobs, temps = store.blobs.scan()
    for item in temps:
        age = _age(item, now)
        if age < grace_s:
            report.kept_young += 1
            continue
        report.items.append(Garbage("temp_file", item.path, item.size, age))
        if not dry_run:
            store.blobs.remove_temp(item)
    _collect_scratch(Path(temp_dir or tempfile.gettempdir()), now, grace_s, report)
    with store.engine.connect() as conn:
        protected = maintenance_db.protected_digests(conn)
    for item in blobs:
        if item.name in protected:
            continue
        age = _age(item, now)
        if age < grace_s or not _still_old(store.blobs, item, grace_s):
            report.kept_young += 1
            continue
        report.items.append(Garbage("blob", item.name, item.size, age))
        if not dry_run:
            store.blobs.delete(item.name)
    return report


def _age(item: StoredFile, now: float) -> float:
    return now - item.modified if item.modified is not None else 0.0


def _still_old(blobs: BlobStore, item: StoredFile, grace_s: float) -> bool:
    """Check the age again just before deleting: a writer may have stored the blob again
    (refreshing it) since the listing."""
    fresh = blobs.stat(item.name)
    return fresh is not None and _age(fresh, time.time()) >= grace_s


def _collect_scratch(folder: Path, now: float, grace_s: float, report: GcReport) -> None:
    """Writers' scratch folders and files in ``folder`` that this user owns and that nothing
    modified within the grace period (their newest file counts)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        if not entry.name.startswith(WRITER_PREFIXES):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.is_symlink() or (uid is not None and st.st_uid != uid):
            continue
        size, newest = _footprint(Path(entry.path), st.st_size, st.st_mtime)
        age = now - newest
        if age < grace_s:
            report.kept_young += 1
            continue
        report.items.append(Garbage("scratch", entry.path, size, age))
        if not report.dry_run:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                Path(entry.path).unlink(missing_ok=True)


def _footprint(path: Path, size: int, newest: float) -> tuple[int, float]:
    """The total size of a scratch folder and its newest modification time."""
    if not path.is_dir():
        return size, newest
    total = 0
    for root, _dirs, files in os.walk(path):
        newest = max(newest, os.stat(root).st_mtime)
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_size
            newest = max(newest, st.st_mtime)
    return total, newest
