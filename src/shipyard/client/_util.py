"""Small helpers shared by the store implementations."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def walk_files(path: Path) -> Iterator[tuple[Path, str]]:
    """(file, path relative to ``path``) for a file, or every file below a folder in a stable
    order (a single file gets the relative path ``""``)."""
    if path.is_file():
        yield path, ""
        return
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = Path(root) / name
            yield full, full.relative_to(path).as_posix()
