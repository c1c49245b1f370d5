"""The metric buffer: bounded memory, ordered flushes, and no silent loss on errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import pytest

from shipyard.entities import MetricPoint
from shipyard.errors import InvalidArgument, ServiceUnavailable
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


class Refusing(Sink):
    """A store that refuses a whole batch when one of its points has a step above 10**6."""

    def __call__(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        bad = [p for p in points if p.step > 10**6]
        if bad:
            raise InvalidArgument(f"step {bad[0].step} is too large", field="step")
        super().__call__(run_id, points)


def test_a_refused_point_never_drops_the_batch_around_it() -> None:
    sink = Refusing()
    buffer = MetricBuffer(sink, flush_interval=3600, batch_size=10_000, max_pending=10_000)
    buffer.add("r", _points(100))
    buffer.add("r", [MetricPoint("m", -1.0, 2**40, 0)])
    buffer.add("r", _points(100, start=100))
    buffer.add("other", _points(3))
    with pytest.raises(InvalidArgument, match=r"refused 1 metric point.*'m'.*too large") as caught:
        buffer.flush()
    assert caught.value.field == "step"
    assert sink.values("r") == [float(i) for i in range(200)]  # in order, none lost
    assert sink.values("other") == [0.0, 1.0, 2.0]
    assert buffer.pending == 0
    assert buffer.pop_dropped("r") == 1 and buffer.pop_dropped("r") == 0


def test_a_refusal_of_the_whole_batch_keeps_every_point() -> None:
    class WrongRun(Sink):
        def __call__(self, run_id: str, points: Sequence[MetricPoint]) -> None:
            raise InvalidArgument("bad run id", field="run_id")

    buffer = MetricBuffer(WrongRun(), flush_interval=3600, batch_size=10_000, max_pending=10_000)
    buffer.add("r", _points(10))
    with pytest.raises(InvalidArgument, match="bad run id"):
        buffer.flush()
    assert buffer.pending == 10 and buffer.pop_dropped("r") == 0
    buffer.discard("r")


def test_an_outage_while_writing_around_a_refused_point_keeps_the_rest_in_order() -> None:
    sink = Refusing()
    calls = 0

    def flaky(run_id: str, points: Sequence[MetricPoint]) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the batch was refused, its first half written; then the store fails
            raise ServiceUnavailable("database is down")
        sink(run_id, points)

    buffer = MetricBuffer(flaky, flush_interval=3600, batch_size=10_000, max_pending=10_000)
    buffer.add("r", [*_points(4), MetricPoint("m", -1.0, 2**40, 0), *_points(3, start=4)])
    with pytest.raises(ServiceUnavailable):
        buffer.flush()
    with pytest.raises(InvalidArgument, match="refused 1"):
        buffer.flush()
    assert sink.values("r") == [float(i) for i in range(7)]
    assert buffer.pending == 0


def test_the_backlog_stays_bounded_while_the_store_is_down() -> None:
    sink = Sink()
    sink.fail = True
    buffer = MetricBuffer(sink, flush_interval=3600, batch_size=10_000, max_pending=10)
    with pytest.warns(RuntimeWarning, match="dropping the newest points") as warned:
        for point in _points(25):
            with contextlib.suppress(ServiceUnavailable):
                buffer.add("r", [point])
            assert buffer.pending <= 10
    assert len(warned) == 1  # one warning per outage, with a count
    assert buffer.pop_dropped("r") == 15
    sink.fail = False
    buffer.flush()
    assert sink.values("r") == [float(i) for i in range(10)]  # the oldest were kept
