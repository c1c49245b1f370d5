"""Buffered metric logging.

``log_metric`` appends to an in-memory buffer and returns at once; a daemon thread flushes the
buffer in batches every ``flush_interval`` seconds or as soon as ``batch_size`` points wait,
and on each wake calls its owner's ``tick`` (the tracking client keeps run heartbeats with it).

Memory is bounded: when ``max_pending`` points wait, the logging call flushes in the caller's
thread (back-pressure) instead of growing. If that write fails too (the store is down), the
points beyond the bound are dropped, newest first, counted per run (:meth:`pop_dropped`; a run
records the count in its ``shipyard.metrics.dropped`` tag) with one warning per outage, and
the error is raised from the call.

A flush that fails keeps its points and re-raises the error from the next flush or log call,
never silently. A batch the store refuses as invalid is split until every point it accepts is
written; only the refused points are dropped (and counted), and one InvalidArgument names
them. Runs flush on end, at interpreter exit and on SIGTERM, so no metric is lost on a
normal exit, an exception inside the run or a ``docker stop``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence

from shipyard import _critical
from shipyard.entities import MetricPoint
from shipyard.errors import InvalidArgument, ServiceUnavailable

Sink = Callable[[str, Sequence[MetricPoint]], None]
#: The tag that counts a run's metric points that could not be stored.
DROPPED_TAG = "shipyard.metrics.dropped"
#: The fields an error about one metric point names; other errors are about the whole batch.
_POINT_FIELDS = frozenset({"metric key", "key", "value", "step", "timestamp"})


class MetricBuffer:
    """Per-run queues of metric points, drained by a background thread."""

    def __init__(
        self,
        sink: Sink,
        *,
        flush_interval: float,
        batch_size: int,
        max_pending: int,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._sink = sink
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._tick = tick
        # Reentrant: a SIGTERM handler runs in the main thread, possibly while that thread
        # is inside add() or flush(), and must not deadlock on the lock it holds.
        self._lock = threading.RLock()
        self._flush_lock = threading.RLock()  # one flush at a time keeps per-run order
        self._wake = threading.Event()
        self._pending: dict[str, list[MetricPoint]] = {}
        self._count = 0
        self._dropped: dict[str, int] = {}
        self._warned = False
        self._error: BaseException | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        _BUFFERS.add(self)

    @property
    def pending(self) -> int:
        """How many points wait to be written."""
        return self._count

    def pop_dropped(self, run_id: str) -> int:
        """How many points of a run were dropped (refused by the store, or over the bound
        while the store was failing), resetting the count."""
        with self._lock:
            return self._dropped.pop(run_id, 0)

    def add(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Queue points, flushing inline when full; then re-raises a background flush's error
        (the points stay queued, so the next successful flush writes them)."""
        with self._lock:
            self._pending.setdefault(run_id, []).extend(points)
            self._count += len(points)
            count = self._count
        if self._thread is None:
            self.start()
        if count >= self._max_pending:
            try:
                self.flush()
            except BaseException:
                self._drop_overflow(run_id)
                raise
        elif count >= self._batch_size:
            self._wake.set()
        self._raise_error()

    def flush(self, run_id: str | None = None, *, timeout: float | None = None) -> None:
        """Write what waits (for one run, or all) now; raises if writing fails.

        ``timeout`` bounds the wait for a flush already running in another thread.
        """
        refused: list[tuple[str, MetricPoint, InvalidArgument]] = []
        with _critical.critical():  # a SIGTERM waits until the batches taken are stored
            if not self._flush_lock.acquire(timeout=-1 if timeout is None else timeout):
                raise ServiceUnavailable(
                    f"{self.pending} metric points wait, and another flush did not finish "
                    f"within {timeout}s"
                )
            try:
                batches = self._take(run_id)
                for index, (rid, points) in enumerate(batches):
                    bad, unwritten, error = self._write(rid, points)
                    refused += [(rid, point, exc) for point, exc in bad]
                    if error is not None:
                        self._put_back([(rid, unwritten), *batches[index + 1 :]])
                        if refused:  # written around; reported at the next call
                            self._error = self._refusal(refused)
                        raise error
            finally:
                self._flush_lock.release()
        if refused:
            raise self._refusal(refused)
        self._warned = False
        self._raise_error()

    def discard_pending(self, run_id: str) -> int:
        """Drop the points of a run that still wait (they could not be written and the run
        is ending), counting them as dropped; returns how many."""
        with self._lock:
            dropped = self._pending.pop(run_id, [])
            self._count -= len(dropped)
            if dropped:
                self._dropped[run_id] = self._dropped.get(run_id, 0) + len(dropped)
        return len(dropped)

    def discard(self, run_id: str) -> int:
        """Drop what waits for a run (used when the run is deleted); returns how many."""
        with self._lock:
            dropped = self._pending.pop(run_id, [])
            self._count -= len(dropped)
            self._dropped.pop(run_id, None)
        return len(dropped)

    def start(self) -> None:
        """Start the background thread (it also starts on the first buffered point)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._loop, name="shipyard-metric-flush", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Flush everything and stop the thread."""
        self._closed = True
        self._wake.set()
        self.flush()

    def _write(
        self, run_id: str, points: list[MetricPoint]
    ) -> tuple[list[tuple[MetricPoint, InvalidArgument]], list[MetricPoint], BaseException | None]:
        """Write ``points``, halving a batch the store refuses as invalid until every point it
        accepts is written. Returns the refused points with their errors and, when writing
        fails for another reason, the points not written (in order) and that error."""
        refused: list[tuple[MetricPoint, InvalidArgument]] = []
        chunks = [points]
        while chunks:
            chunk = chunks.pop()
            try:
                self._sink(run_id, chunk)
            except InvalidArgument as exc:
                if exc.field not in _POINT_FIELDS:
                    return refused, [*chunk, *_flatten(reversed(chunks))], exc
                if len(chunk) == 1:
                    refused.append((chunk[0], exc))
                else:
                    half = len(chunk) // 2
                    chunks += [chunk[half:], chunk[:half]]  # the first half is written first
            except BaseException as exc:
                return refused, [*chunk, *_flatten(reversed(chunks))], exc
        return refused, [], None

    def _refusal(self, refused: list[tuple[str, MetricPoint, InvalidArgument]]) -> InvalidArgument:
        """Count refused points as dropped, and the one error that reports them."""
        with self._lock:
            for rid, _point, _exc in refused:
                self._dropped[rid] = self._dropped.get(rid, 0) + 1
        rid, point, exc = refused[0]
        runs = sorted({r for r, _p, _e in refused})
        return InvalidArgument(
            f"the store refused {len(refused)} metric point(s) of run {', '.join(runs)}, "
            f"which were dropped (every other point was written); metric {point.key!r}: "
            f"{exc.message}",
            field=exc.field,
            refused=[{"run_id": r, "key": p.key, "message": e.message} for r, p, e in refused[:20]],
        )

    def _drop_overflow(self, run_id: str) -> None:
        """After a failed inline flush: drop the newest points of ``run_id`` beyond the bound."""
        with self._lock:
            queue = self._pending.get(run_id, [])
            excess = min(max(self._count - self._max_pending, 0), len(queue))
            if not excess:
                return
            del queue[len(queue) - excess :]
            self._count -= excess
            self._dropped[run_id] = self._dropped.get(run_id, 0) + excess
            warn, self._warned = not self._warned, True
        if warn:
            warnings.warn(
                f"shipyard: {self._max_pending} metric points wait and the store cannot take "
                f"them; dropping the newest points until it can ({excess} of run {run_id} so "
                f"far; the run counts them in its {DROPPED_TAG} tag)",
                RuntimeWarning,
                stacklevel=4,
            )

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

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._tick is not None:
                with contextlib.suppress(Exception):  # a missed beat is tried at the next wake
                    self._tick()
            if not self._count:
                continue
            try:
                self.flush()
            except BaseException as exc:  # kept for the caller; points stay queued
                self._error = exc

    def _after_fork(self) -> None:
        self._lock = threading.RLock()
        self._flush_lock = threading.RLock()
        self._wake = threading.Event()
        self._pending = {}
        self._count = 0
        self._dropped = {}
        self._thread = None


def _flatten(chunks: Iterable[list[MetricPoint]]) -> list[MetricPoint]:
    return [point for chunk in chunks for point in chunk]


_BUFFERS: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def flush_all(timeout: float | None = None) -> None:
    """Write what every buffer holds (the process is about to stop): report, never raise."""
    for buffer in list(_BUFFERS):
        try:
            buffer.flush(timeout=timeout)
        except Exception as exc:
            print(
                f"shipyard: could not write {buffer.pending} buffered metrics: {exc}",
                file=sys.stderr,
            )


def _flush_all_at_exit() -> None:
    for buffer in list(_BUFFERS):
        try:
            buffer.close()
        except Exception as exc:  # the interpreter is exiting: report, never hang
            print(
                f"shipyard: could not write {buffer.pending} buffered metrics: {exc}",
                file=sys.stderr,
            )


atexit.register(_flush_all_at_exit)


def _reset_after_fork() -> None:
    """A forked child starts with empty buffers and no flush thread of its parent's."""
    for buffer in list(_BUFFERS):
        buffer._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
