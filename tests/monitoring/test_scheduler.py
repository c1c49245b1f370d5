"""Monitors on the scheduler, driven by a fake clock through days of cron in a second: each
due time runs once, downtime catches up only the latest due time, and nothing a monitor
does (no rows, an unreachable webhook, a crash, a broken job) stops the loop or the
pipeline schedules."""

from __future__ import annotations

import time
from typing import Any

import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.entities import MonitorRun, PipelineRun
from shipyard.monitoring import MonitorJob, create_monitor, monitor_history
from shipyard.pipelines import Scheduler, due_times, latest_due, schedule
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.support.scheduling import Recorder

HOUR = 3_600_000
EVERY_4H = "0 */4 * * *"


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _scheduler(client: Client, clock: Clock, *jobs: Any) -> Scheduler:
    monitors = MonitorJob(client.store, client.settings)
    return Scheduler(client.store, clock=clock, launcher=Recorder(), jobs=[*jobs, monitors])


def _monitor_runs(done: list[Any]) -> list[MonitorRun]:
    return [d for d in done if isinstance(d, MonitorRun)]


def test_scheduled_monitors_run_once_per_due_time_and_survive_failures(
    train: Any, traffic: Any, sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = train(sqlite_sdk)
    unreachable = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "retries": 2, "backoff": 0}
    made = create_monitor(
        "churn",
        "churn@champion",
        window="4h",
        schedule=EVERY_4H,
        alerts=["share_drifted > 0.3"],
        channels=[unreachable],
    )
    create_monitor("manual", "churn@champion")  # no schedule: never run by the scheduler
    traffic(sqlite_sdk, model, made.created_at + 1, 15.0)  # shifted, inside the first window
    clock = Clock(made.created_at)
    scheduler = _scheduler(sqlite_sdk, clock)
    first_due = latest_due(EVERY_4H, "UTC", made.created_at, made.created_at + 4 * HOUR)
    assert first_due is not None

    done: list[MonitorRun] = []
    while clock.now < made.created_at + 2 * 24 * HOUR:  # two days, a tick every 30 minutes
        done += _monitor_runs(scheduler.tick())
        clock.now += HOUR // 2
    clock.now = last_tick = clock.now - HOUR // 2
    expected = due_times(EVERY_4H, "UTC", made.created_at, last_tick, 100)
    assert len(expected) >= 11 and expected[0] == first_due
    assert [r.window_end for r in done] == expected
    assert {r.monitor for r in done} == {"churn"}
    first, *later = done
    # the shifted window: drift found, the alert fired, the webhook failed after 3 attempts
    assert first.status == "ok", first.error
    assert first.result["drift"]["drifted_columns"] == ["age"]
    (note,) = first.result["notifications"]
    assert not note["ok"] and note["attempts"] == 3 and note["error"]
    # later windows have no traffic: recorded as failed with the reason, and the loop went on
    assert all(r.status == "failed" and "no rows" in r.error for r in later)
    assert scheduler.tick() == []  # the same due time never runs twice

    # downtime of three days: only the latest missed due time runs
    clock.now += 3 * 24 * HOUR
    (caught_up,) = _monitor_runs(scheduler.tick())
    assert caught_up.window_end == latest_due(EVERY_4H, "UTC", done[-1].window_end, clock.now)
    assert len(monitor_history("churn")) == len(expected) + 1 and monitor_history("manual") == []


class Broken:
    """A job that always raises."""

    ticks = 0

    def tick(self, now: int) -> list[Any]:
        Broken.ticks += 1
        raise RuntimeError("broken job")


def test_a_crashing_monitor_or_job_never_stops_the_scheduler(
    train: Any,
    traffic: Any,
    sqlite_sdk: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = train(sqlite_sdk)
    monkeypatch.setattr("shipyard.pipelines._schedule.now_ms", lambda: made.created_at)
    made = create_monitor("crashy", "churn@champion", window="4h", schedule=EVERY_4H)
    create_monitor("fine", "churn@champion", window="4h", schedule=EVERY_4H)
    create_monitor("gone", "nosuchmodel@champion", window="4h", schedule=EVERY_4H)
    schedule(steps.chain, EVERY_4H, params={"n": 3})
    traffic(sqlite_sdk, model, made.created_at + 1, 0.0)

    real_run = __import__("shipyard.monitoring._monitor", fromlist=["run_monitor"]).run_monitor

    def crash_one(name: str, **kwargs: Any) -> MonitorRun:
        if name == "crashy":
            raise RuntimeError("disk on fire")
        return real_run(name, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr("shipyard.monitoring._scheduler.run_monitor", crash_one)
    clock = Clock(made.created_at + 4 * HOUR)
    Broken.ticks = 0
    done = _scheduler(sqlite_sdk, clock, Broken()).tick()
    runs = {r.monitor: r for r in _monitor_runs(done)}
    assert [type(d) for d in done if not isinstance(d, MonitorRun)] == [PipelineRun]
    assert Broken.ticks == 1 and "broken job" in caplog.text
    assert runs["crashy"].status == "failed"
    assert "crashed: RuntimeError: disk on fire" in runs["crashy"].error
    assert monitor_history("crashy")[0].id == runs["crashy"].id  # recorded
    assert runs["gone"].status == "failed" and "nosuchmodel" in runs["gone"].error
    assert runs["fine"].status == "ok", runs["fine"].error


def test_latest_due_is_found_directly_after_long_downtime() -> None:
    start = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    assert latest_due("* * * * *", "UTC", start, start + 365 * 24 * HOUR) == start + 365 * 24 * HOUR
    assert latest_due("0 * * * *", "UTC", start, start + HOUR - 1) is None
    assert latest_due("0 * * * *", "UTC", start, start + HOUR) == start + HOUR
    assert latest_due("0 * * * *", "UTC", start + HOUR, start + HOUR) is None


def test_scheduler_cli_runs_due_monitors_once(train: Any, traffic: Any, sqlite_sdk: Client) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    create_monitor("churn", "churn@champion", window="1h", schedule="* * * * *")
    traffic(sqlite_sdk, model, now - 10, 0.0)
    # pretend the monitor was created a while ago by recording an older run by hand
    from shipyard.monitoring import run_monitor

    run_monitor("churn", now=now - 10 * 60_000)
    ran = CliRunner().invoke(app, ["scheduler", "--once"])
    assert ran.exit_code == 0, ran.output
    assert "ran monitor churn" in ran.output
    assert len(monitor_history("churn")) == 2
    skipped = CliRunner().invoke(app, ["scheduler", "--once", "--no-monitors"])
    assert skipped.exit_code == 0 and "ran monitor" not in skipped.output
