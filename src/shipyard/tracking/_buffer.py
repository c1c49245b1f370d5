"""Buffered metric logging.

``log_metric`` appends to an in-memory buffer and returns at once; a daemon thread flushes the
buffer in batches every ``flush_interval`` seconds or as soon as ``batch_size`` points wait.
Memory is bounded: when ``max_pending`` points wait, the logging call flushes in the caller's
thread (back-pressure) instead of growing. Runs flush on end and at interpreter exit, so no
metric is lost on a normal exit or an exception inside the run. A flush that fails keeps its
points and re-raises the error from the next flush or log call, never silently.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Callable, Sequence

from shipyard.entities import MetricPoint

Sink = Callable[[str, Sequence[MetricPoint]], None]


class MetricBuffer:
    """Per-run queues of metric points, drained by a background thread."""

    def __init__(
        self, sink: Sink, *, flush_interval: float, batch_size: int, max_pending: int
    ) -> None:
        self._sink = sink
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time keeps per-run order
        self._wake = threading.Event()
        self._pending: dict[str, list[MetricPoint]] = {}
        self._count = 0
        self._error: BaseException | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        _BUFFERS.add(self)

    @property
    def pending(self) -> int:
        """How many points wait to be written."""
        return self._count

    def add(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Queue points, flushing inline when full; then re-raises a background flush's error
        (the points stay queued, so the next successful flush writes them)."""
        with self._lock:
            self._pending.setdefault(run_id, []).extend(points)
            self._count += len(points)
            count = self._count
        if count >= self._max_pending:
            self.flush()
        elif count >= self._batch_size:
            self._wake.set()
        if self._thread is None:
            self._start()
        self._raise_error()

    def flush(self, run_id: str | None = None) -> None:
        """Write what waits (for one run, or all) now; raises if writing fails."""
        with self._flush_lock:
            batches = self._take(run_id)
            for index, (rid, points) in enumerate(batches):
                try:
                    self._sink(rid, points)
                except BaseException as exc:
                    self._put_back(batches[index:])
                    raise exc
        self._raise_error()

    def discard(self, run_id: str) -> int:
        """Drop what waits for a run (used when the run is deleted); returns how many."""
        with self._lock:
            dropped = self._pending.pop(run_id, [])
            self._count -= len(dropped)
        return len(dropped)

    def close(self) -> None:
        """Flush everything and stop the thread."""
        self._closed = True
        self._wake.set()
        self.flush()

    def _take(self, run_id: str | None) -> list[tuple[str, list[MetricPoint]]]:
        with self._lock:
            if run_id is None:
                taken = list(self._pending.items())
                self._pending = {}
            else:
                points = self._pending.pop(run_id, None)
                taken = [(run_id, points)] if points else []
            self._count -= sum(len(points) for _rid, points in taken)
        return taken

    def _put_back(self, batches: list[tuple[str, list[MetricPoint]]]) -> None:
        with self._lock:
            for rid, points in batches:
                self._pending[rid] = points + self._pending.get(rid, [])
                self._count += len(points)

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._loop, name="shipyard-metric-flush", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if not self._count:
                continue
            try:
                self.flush()
            except BaseException as exc:  # kept for the caller; points stay queued
                self._error = exc

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._pending = {}
        self._count = 0
        self._thread = None


_BUFFERS: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for buffer in list(_BUFFERS):
        try:
            buffer.close()
        except Exception as exc:  # the interpreter is exiting: report, never hang
            print(f"shipyard: could not write {buffer.pending} buffered metrics: {exc}")


atexit.register(_flush_all_at_exit)


def _reset_after_fork() -> None:
    """A forked child starts with empty buffers and no flush thread of its parent's."""
    for buffer in list(_BUFFERS):
        buffer._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
