"""Schedules and the scheduler, driven by a fake clock and a recording launcher: due runs,
missed-run policies (skip, catch up), overlap policies (skip, queue), crashed runs, bad input;
and one real run through the subprocess launcher."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.entities import PipelineRun
from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines import Scheduler, due_times, schedule
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.support.scheduling import Recorder


def ms(hour: int, minute: int = 0, day: int = 1) -> int:
    return int(datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _setup(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch, **policies: str
) -> tuple[Scheduler, Clock, Recorder]:
    clock = Clock(ms(10, 30))
    monkeypatch.setattr("shipyard.pipelines._schedule.now_ms", clock)
    schedule(steps.chain, "0 * * * *", params={"n": 3}, **policies)  # hourly, at :00
    recorder = Recorder()
    return Scheduler(sqlite_sdk.store, clock=clock, launcher=recorder), clock, recorder


def _finish(sqlite_sdk: Client, run: PipelineRun) -> None:
    sqlite_sdk.store.update_pipeline_run(run.id, status="FINISHED", end_time=1)


def _due(recorder: Recorder) -> list[int | None]:
    return [r.scheduled_for for r in recorder.launched]


def test_a_due_schedule_starts_one_run_with_its_params(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, _recorder = _setup(sqlite_sdk, monkeypatch)
    clock.now = ms(10, 59)
    assert scheduler.tick() == []
    clock.now = (
        ms(
            11,
            0,
        )
        + 5_000
    )
    [run] = scheduler.tick()
    assert run.scheduled_for == ms(11) and run.params == {"n": 3, "factor": 2}
    assert run.ref == "tests.pipelines.steps:chain" and run.schedule == "chain"
    assert sqlite_sdk.store.get_pipeline_run(run.id).status == "RUNNING"
    assert scheduler.tick() == []  # nothing new is due
    assert sqlite_sdk.store.get_schedule("chain").last_fire_at == ms(11)


def test_overlap_skip_drops_due_times_while_a_run_is_active(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, recorder = _setup(sqlite_sdk, monkeypatch, overlap="skip")
    clock.now = ms(11)
    scheduler.tick()
    clock.now = ms(12)
    assert scheduler.tick() == []  # 11:00 still running: 12:00 is dropped
    _finish(sqlite_sdk, recorder.launched[0])
    clock.now = ms(12, 30)
    assert scheduler.tick() == []
    clock.now = ms(13)
    assert [r.scheduled_for for r in scheduler.tick()] == [ms(13)]


def test_overlap_queue_starts_the_next_run_when_the_previous_ends(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, recorder = _setup(sqlite_sdk, monkeypatch, overlap="queue")
    clock.now = ms(11)
    scheduler.tick()
    clock.now = ms(12)
    assert scheduler.tick() == []
    [waiting] = sqlite_sdk.store.list_pipeline_runs(schedule="chain", statuses=["QUEUED"])
    assert waiting.scheduled_for == ms(12)
    _finish(sqlite_sdk, recorder.launched[0])
    clock.now = ms(12, 10)
    assert [r.id for r in scheduler.tick()] == [waiting.id]


def test_missed_skip_runs_only_the_latest_due_time_after_downtime(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, recorder = _setup(sqlite_sdk, monkeypatch, missed="skip")
    clock.now = ms(15, 10)  # the scheduler was down through 11:00 .. 15:00
    scheduler.tick()
    assert _due(recorder) == [ms(15)]
    assert len(sqlite_sdk.store.list_pipeline_runs(schedule="chain")) == 1


def test_missed_skip_finds_the_latest_due_time_after_a_long_downtime(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(ms(10, 30))
    monkeypatch.setattr("shipyard.pipelines._schedule.now_ms", clock)
    schedule(steps.chain, "* * * * *")  # every minute: a week down is 10,080 due times
    recorder = Recorder()
    scheduler = Scheduler(sqlite_sdk.store, clock=clock, launcher=recorder)
    clock.now = ms(10, 30, day=8) + 20_000
    scheduler.tick()
    assert _due(recorder) == [ms(10, 30, day=8)]
    assert sqlite_sdk.store.get_schedule("chain").last_fire_at == ms(10, 30, day=8)


def test_missed_catch_up_runs_every_due_time_one_after_another(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, recorder = _setup(sqlite_sdk, monkeypatch, missed="catch_up")
    clock.now = ms(13, 10)
    scheduler.tick()
    assert _due(recorder) == [ms(11)]
    queued = sqlite_sdk.store.list_pipeline_runs(schedule="chain", statuses=["QUEUED"])
    assert sorted(r.scheduled_for for r in queued) == [ms(12), ms(13)]
    for _ in range(2):
        _finish(sqlite_sdk, recorder.launched[-1])
        scheduler.tick()
    assert _due(recorder) == [ms(11), ms(12), ms(13)]


def test_a_run_whose_process_died_is_marked_failed(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler, clock, recorder = _setup(sqlite_sdk, monkeypatch)
    clock.now = ms(11)
    [run] = scheduler.tick()
    recorder.handles[run.id].code = -9
    clock.now = ms(11, 5)
    scheduler.tick()
    stored = sqlite_sdk.store.get_pipeline_run(run.id)
    assert stored.status == "FAILED" and "exited with code -9" in stored.error
    clock.now = ms(12)
    assert len(scheduler.tick()) == 1  # the schedule goes on


def test_due_times_follow_the_time_zone() -> None:
    oslo = due_times("0 3 * * *", "Europe/Oslo", ms(0), ms(23, 59), 10)
    assert oslo == [ms(2)]  # 03:00 in Oslo is 02:00 UTC in January
    assert due_times("*/15 * * * *", "UTC", ms(10), ms(11), 10) == [
        ms(10, 15),
        ms(10, 30),
        ms(10, 45),
        ms(11),
    ]


def test_bad_schedules_are_refused(sqlite_sdk: Client) -> None:
    for cron in ("every day", "61 * * * *", "* * * *", ""):
        with pytest.raises(InvalidArgument, match="not a valid cron expression"):
            schedule(steps.chain, cron)
    with pytest.raises(InvalidArgument, match="unknown time zone"):
        schedule(steps.chain, "0 3 * * *", timezone="Mars/Olympus")
    with pytest.raises(InvalidArgument, match="missed must be"):
        schedule(steps.chain, "0 3 * * *", missed="sometimes")
    with pytest.raises(InvalidArgument, match="overlap must be"):
        schedule(steps.chain, "0 3 * * *", overlap="parallel")
    with pytest.raises(InvalidArgument, match="no parameter"):
        schedule(steps.chain, "0 3 * * *", params={"bogus": 1})
    with pytest.raises(NotFound, match="no pipeline named 'nightly'"):
        schedule("nightly", "0 3 * * *")
    with pytest.raises(NotFound, match="cannot import pipeline"):
        schedule("no_such_module:pipe", "0 3 * * *")
    assert sqlite_sdk.store.list_schedules() == []
    first = schedule(steps.chain, "0 3 * * *")
    replaced = schedule("tests.pipelines.steps:chain", "30 4 * * *", overlap="queue")
    assert [s.cron for s in sqlite_sdk.store.list_schedules()] == ["30 4 * * *"]
    assert replaced.last_fire_at == first.last_fire_at and replaced.overlap == "queue"


@pytest.mark.slow
def test_the_subprocess_launcher_really_runs_the_pipeline(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(ms(10, 30))
    monkeypatch.setattr("shipyard.pipelines._schedule.now_ms", clock)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    schedule(steps.chain, "0 * * * *", params={"n": 4})
    scheduler = Scheduler(clock=clock)
    clock.now = ms(11)
    [run] = scheduler.tick()
    deadline = time.monotonic() + 120
    while scheduler.handles and time.monotonic() < deadline:
        time.sleep(0.2)
        scheduler.tick()
    stored = sqlite_sdk.store.get_pipeline_run(run.id)
    assert stored.status == "FINISHED", stored.error
    steps_run = {s.name: s for s in sqlite_sdk.store.list_step_runs(run.id)}
    assert set(steps_run) == {"source", "double", "total", "side"}
    assert steps_run["total"].outputs[0]["value"] == "12"
