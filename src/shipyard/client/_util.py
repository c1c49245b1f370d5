"""Small helpers shared by the store implementations."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard import _validation as v
from shipyard.client._checks import existing_path
from shipyard.entities import ArtifactInfo
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.client._protocol import Store


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def walk_files(path: Path) -> Iterator[tuple[Path, str]]:
    """(file, path relative to ``path``) for a file, or every file below a folder in a stable
    order (a single file gets the relative path ``""``).

    A symbolic link inside the folder that points outside it is refused (logging a folder
    never picks up files it does not contain); a linked folder that points inside it is
    skipped, since its files are found where they really are.
    """
    if path.is_file():
        yield path, ""
        return
    root = path.resolve()
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted([*names, *(d for d in dirs if (Path(folder) / d).is_symlink())]):
            full = Path(folder) / name
            resolved = full.resolve()
            if full.is_symlink() and root not in resolved.parents:
                raise InvalidArgument(
                    f"{full} is a symbolic link to {resolved}, outside the folder being logged; "
                    "copy the file in or log it on its own",
                    field="local_path",
                )
            if full.is_file():
                yield full, full.relative_to(path).as_posix()


def upload_tree(store: Store, local_path: Path) -> list[ArtifactInfo]:
    """Store a file, or every file under a folder, as blobs through ``store.put_blob``; the
    manifest's paths are relative to the folder (a single file keeps its name)."""
    local_path = existing_path(local_path)
    return [
        ArtifactInfo(
            v.check_artifact_path(relative or source.name),
            store.put_blob(source),
            source.stat().st_size,
        )
        for source, relative in walk_files(local_path)
    ]
