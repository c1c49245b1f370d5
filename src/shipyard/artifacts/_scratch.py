"""Scratch files and folders that writers remove on success, on exceptions and on SIGTERM.

Writers stage data before it becomes a blob: a dataset's canonical Parquet, an upload spooled
from a stream, a blob's temporary name next to its final one. Leaving them behind after a
crash fills the disk (a killed dataset registration leaves its whole Parquet file), so:

- :func:`scratch_dir` and :func:`scratch_file` remove what they made when the block exits,
  normally or by an exception;
- while any scratch path is live, a SIGTERM handler (from the main thread only, chaining
  whatever handler was there before, such as the tracking runs' one) removes every live
  path and then lets the signal do what it did before (the default ends the process); the
  previous handler is put back when the last scratch path is gone;
- SIGKILL cannot be caught: ``shipyard gc`` removes stale scratch paths later. Every scratch
  name starts with :data:`SCRATCH_PREFIX` so gc can recognise them; gc leaves young ones
  alone (they may belong to a writer still at work).

A full disk while staging is a :class:`ServiceUnavailable` saying what was being written and
where to make room (:func:`room_needed`), not a bare ``OSError``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from shipyard.errors import ServiceUnavailable

#: The start of every scratch folder's and file's name in the temp directory.
SCRATCH_PREFIX = "shipyard-"
#: The temp-directory prefixes of Shipyard's writers: what ``shipyard gc`` may remove when
#: stale. Live servers' metrics folders (``shipyard-metrics-``) are deliberately not here.
WRITER_PREFIXES = (
    "shipyard-data-",
    "shipyard-blob-",
    "shipyard-upload-",
    "shipyard-model-",
    "shipyard-descriptor-",
    "shipyard-artifact-",
    "shipyard-out-",
    "shipyard-step-model-",
    "shipyard-plan-",
    "shipyard-batch-",
    "shipyard-batch-model-",
)

#: The errors of a disk, quota or file-size limit with no room left for a write.
NO_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})

_live: set[str] = set()
_lock = threading.Lock()
_previous: Any = signal.SIG_DFL


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            os.unlink(path)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Remove every live scratch path, then do what SIGTERM did before."""
    with _lock:
        live = list(_live)
        _live.clear()
    for path in live:
        _remove(path)
    previous = _previous
    if callable(previous) and previous is not _on_sigterm:
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)  # the default: end the process as it would have
    os.kill(os.getpid(), signum)


def _install() -> None:
    """Handle SIGTERM while scratch paths are live: from the main thread only (the one where
    Python sets and runs handlers), never over an ignored SIGTERM."""
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current is _on_sigterm or current is signal.SIG_IGN or current is None:
            return
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # an interpreter without signal support
        return
    _previous = current


def _restore() -> None:
    """Put the previous handler back once nothing is live (unless another was set since)."""
    if threading.current_thread() is not threading.main_thread():
        return
    with suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, _previous)


@contextmanager
def track(path: str | os.PathLike[str]) -> Iterator[None]:
    """Remove ``path`` (a file or folder) on SIGTERM while the block runs, and at its end."""
    name = os.fspath(path)
    with _lock:
        first = not _live
        _live.add(name)
    if first:
        _install()
    try:
        yield
    finally:
        with _lock:
            _live.discard(name)
            last = not _live
        _remove(name)
        if last:
            _restore()


@contextmanager
def scratch_dir(prefix: str = "shipyard-data-") -> Iterator[Path]:
    """A fresh folder in the temp directory, removed at the end of the block or on SIGTERM.

    ``prefix`` must start with :data:`SCRATCH_PREFIX`; use one of :data:`WRITER_PREFIXES` so
    that ``shipyard gc`` removes the folder if the process is killed.
    """
    if not prefix.startswith(SCRATCH_PREFIX):
        raise ValueError(f"a scratch prefix starts with {SCRATCH_PREFIX!r}, got {prefix!r}")
    path = tempfile.mkdtemp(prefix=prefix)
    with track(path):
        yield Path(path)


@contextmanager
def scratch_file(prefix: str = "shipyard-blob-") -> Iterator[Path]:
    """A fresh empty file in the temp directory, removed at the end of the block or on
    SIGTERM."""
    fd, path = tempfile.mkstemp(prefix=prefix)
    os.close(fd)
    with track(path):
        yield Path(path)


@contextmanager
def room_needed(what: str) -> Iterator[None]:
    """Turn "no room left" (a full disk, a quota, a file-size limit) while the block writes
    scratch files into a :class:`ServiceUnavailable` naming ``what`` was being written and
    where to make room; other errors pass through."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            raise
        raise ServiceUnavailable(
            f"no room left on the disk while {what} ({os.strerror(exc.errno)}); free space in "
            f"the temp folder {tempfile.gettempdir()} (or point TMPDIR at a larger disk), then "
            "try again"
        ) from None
