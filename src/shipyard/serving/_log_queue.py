"""The queue between the request path and the prediction log: requests hand their rows to a
bounded buffer and return; a background thread writes them (through
:class:`~shipyard.serving._prediction_log.LogFiles`, which knows the layout).

When the queue is full the rows are shed and counted (``shed_rows`` and the
``shipyard_serving_prediction_log_shed_rows`` metric), never dropped silently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shipyard.serving._prediction_log import LogFiles, Record


class LogQueue:
    """A bounded buffer of answered requests and the thread that writes them to the log.

    ``append`` only adds to a list under a lock: the writer thread is not woken per request
    (a wake-up per request costs the serving thread a GIL hand-off); it wakes on its flush
    timer, when ``flush_rows`` rows are buffered, on ``flush()`` and on ``close()``.
    """

    def __init__(
        self,
        writer: LogFiles,
        *,
        max_rows: int = 100_000,
        flush_seconds: float = 2.0,
        flush_rows: int = 50_000,
        on_written: Callable[[int], None] | None = None,
        on_shed: Callable[[int], None] | None = None,
    ) -> None:
        self.writer = writer
        self.max_rows = max_rows
        self.flush_seconds = flush_seconds
        self.flush_rows = flush_rows
        self._on_written = on_written
        self._on_shed = on_shed
        self._buffer: list[Record] = []
        self._buffered_rows = 0  # in the buffer
        self._queued_rows = 0  # in the buffer or being written
        self._lock = threading.Lock()
        self._flushed = threading.Condition(self._lock)
        self._wake = threading.Condition(self._lock)
        self._force = False
        self._stop = False
        self.written_rows = 0
        self.shed_rows = 0
        self.errors = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="shipyard-prediction-log", daemon=True
            )
            self._thread.start()

    def append(self, record: Record) -> bool:
        """Queue a request's rows; False (and counted as shed) when the queue is full."""
        with self._lock:
            if self._closed or self._queued_rows + record.rows > self.max_rows:
                self.shed_rows += record.rows
                shed = True
            else:
                self._queued_rows += record.rows
                self._buffered_rows += record.rows
                self._buffer.append(record)
                if self._buffered_rows >= self.flush_rows:
                    self._wake.notify()
                shed = False
        if shed and self._on_shed is not None:
            self._on_shed(record.rows)
        return not shed

    def _run(self) -> None:
        deadline = time.monotonic() + self.flush_seconds
        while True:
            with self._lock:
                while not (self._stop or self._force or self._buffered_rows >= self.flush_rows):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                pending, rows = self._buffer, self._buffered_rows
                self._buffer, self._buffered_rows = [], 0
                stop, force, self._force = self._stop, self._force, False
            if pending:
                self._write(pending, rows)
            elif force:
                with self._lock:
                    self._flushed.notify_all()
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_seconds
            if stop:
                return

    def _write(self, pending: list[Record], rows: int) -> None:
        groups: dict[tuple[str, int], list[Record]] = {}
        for rec in pending:
            groups.setdefault((rec.model, rec.version), []).append(rec)
        for records in groups.values():
            n = sum(r.rows for r in records)
            try:
                self.writer.write_records(records)
                written, shed = n, 0
            except Exception:
                written, shed = 0, n
                self.errors += 1
            with self._lock:
                self.written_rows += written
                self.shed_rows += shed
            if written and self._on_written is not None:
                self._on_written(written)
            if shed and self._on_shed is not None:
                self._on_shed(shed)
        with self._lock:
            self._queued_rows -= rows
            self._flushed.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued row is written (True) or ``timeout`` passes (False)."""
        self.start()
        end = time.monotonic() + timeout
        with self._lock:
            self._force = True
            self._wake.notify()
            while self._queued_rows > 0:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._flushed.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            self._closed = True
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
