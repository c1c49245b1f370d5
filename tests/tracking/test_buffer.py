"""The metric buffer: bounded memory, ordered flushes, and no silent loss on errors."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from shipyard.entities import MetricPoint
from shipyard.errors import ServiceUnavailable
from shipyard.tracking._buffer import MetricBuffer


class Sink:
    """Records what was written; can be told to fail."""

    def __init__(self) -> None:
        self.written: list[tuple[str, list[MetricPoint]]] = []
        self.fail = False

    def __call__(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        if self.fail:
            raise ServiceUnavailable("database is down")
        self.written.append((run_id, list(points)))

    def values(self, run_id: str) -> list[float]:
        return [p.value for rid, pts in self.written if rid == run_id for p in pts]


def _points(n: int, start: int = 0) -> list[MetricPoint]:
    return [MetricPoint("m", float(i), i, i) for i in range(start, start + n)]


def test_memory_is_bounded_by_flushing_in_the_caller() -> None:
    sink = Sink()
    buffer = MetricBuffer(sink, flush_interval=3600, batch_size=10_000, max_pending=100)
    peak = 0
    for point in _points(1000):
        buffer.add("r", [point])
        peak = max(peak, buffer.pending)
    assert peak < 100
    buffer.flush()
    assert sink.values("r") == [float(i) for i in range(1000)]


def test_background_thread_flushes_without_being_asked() -> None:
    sink = Sink()
    buffer = MetricBuffer(sink, flush_interval=0.05, batch_size=1000, max_pending=10_000)
    buffer.add("r", _points(3))
    deadline = time.monotonic() + 5
    while buffer.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.values("r") == [0.0, 1.0, 2.0]


def test_failed_flush_keeps_points_in_order_and_raises() -> None:
    sink = Sink()
    buffer = MetricBuffer(sink, flush_interval=3600, batch_size=10_000, max_pending=10_000)
    buffer.add("r", _points(5))
    sink.fail = True
    with pytest.raises(ServiceUnavailable):
        buffer.flush()
    assert buffer.pending == 5
    buffer.add("r", _points(5, start=5))
    sink.fail = False
    buffer.flush()
    assert sink.values("r") == [float(i) for i in range(10)]


def test_background_failure_is_raised_at_the_next_call() -> None:
    sink = Sink()
    sink.fail = True
    buffer = MetricBuffer(sink, flush_interval=0.02, batch_size=1000, max_pending=10_000)
    buffer.add("r", _points(2))
    time.sleep(0.2)
    with pytest.raises(ServiceUnavailable):
        buffer.add("r", _points(1, start=2))
    sink.fail = False
    buffer.flush()
    assert sorted(sink.values("r")) == [0.0, 1.0, 2.0]


def test_flush_of_one_run_leaves_the_others() -> None:
    sink = Sink()
    buffer = MetricBuffer(sink, flush_interval=3600, batch_size=10_000, max_pending=10_000)
    buffer.add("a", _points(2))
    buffer.add("b", _points(3))
    buffer.flush("a")
    assert sink.values("a") == [0.0, 1.0] and sink.values("b") == []
    assert buffer.pending == 3
    assert buffer.discard("b") == 3 and buffer.pending == 0
