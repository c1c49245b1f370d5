"""What the active scheduler does about runs and what it tells Prometheus: a scheduler that
takes over from one that died fails the runs the dead one left RUNNING (and only those),
and every run that ends is counted by status, duration and step cache hits, served on
``/metrics`` beside a ``/healthz`` that fails once the loop hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.client import LocalStore, Store
from shipyard.config import Settings
from shipyard.entities import PipelineRun, PipelineRunStatus, Schedule, StepRun
from shipyard.pipelines import Scheduler, SchedulerMetrics, serve_metrics
from tests.support.scheduling import Recorder

_DYING_SCHEDULER = textwrap.dedent(
    """
    import sys, time
    from shipyard.client import LocalStore
    from shipyard.config import load_settings
    from shipyard.pipelines import Scheduler

    class Running:  # the run's process, alive for as long as this scheduler
        def poll(self):
            return None

    class Launcher:
        def launch(self, run):
            with open(sys.argv[1], "a") as out:
                out.write(run.id + "\\n")
            return Running()

    scheduler = Scheduler(LocalStore(load_settings()), launcher=Launcher(), lease_seconds=2)
    while True:  # until killed: it never gives up its leases
        scheduler.tick()
        time.sleep(0.1)
    """
)


def _due_schedule(store: Store) -> None:
    """A schedule with a run due now."""
    store.register_pipeline("p", "pkg.mod:p")
    store.put_schedule(Schedule("nightly", "p", "pkg.mod:p", "* * * * *"))
    store.set_schedule_fired("nightly", int(time.time() * 1000) - 120_000)


def _sample(metrics: SchedulerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.mark.slow
def test_a_scheduler_taking_over_fails_the_runs_its_dead_predecessor_left_running(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    store = LocalStore(sqlite_settings)
    _due_schedule(store)
    script, launched = tmp_path / "scheduler.py", tmp_path / "launched.txt"
    script.write_text(_DYING_SCHEDULER)
    env = {**os.environ, "SHIPYARD_HOME": str(sqlite_settings.home)}
    first = subprocess.Popen([sys.executable, str(script), str(launched)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not launched.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert launched.exists(), "the first scheduler never started the run"
    finally:
        first.kill()  # mid-run: no clean-up, no release of its leases
        first.wait(30)
    (run_id,) = launched.read_text().split()
    assert store.get_pipeline_run(run_id).status == PipelineRunStatus.RUNNING

    metrics = SchedulerMetrics()
    second = Scheduler(store, launcher=Recorder(), lease_seconds=2, metrics=metrics)
    deadline = time.monotonic() + 60
    while store.get_pipeline_run(run_id).status == PipelineRunStatus.RUNNING:
        assert time.monotonic() < deadline, "the dead scheduler's run was never cleaned up"
        second.tick()
        time.sleep(0.2)
    run = store.get_pipeline_run(run_id)
    assert run.status == PipelineRunStatus.FAILED and run.end_time is not None
    assert "scheduler that launched this run stopped reporting" in run.error
    assert second.active
    failed = {"project": run.project, "pipeline": "p", "schedule": "nightly", "status": "FAILED"}
    assert _sample(metrics, "shipyard_pipeline_runs_total", **failed) == 1


def _running(store: Store, schedule: str | None) -> str:
    run = PipelineRun(
        id="", pipeline="p", ref="pkg.mod:p", status=PipelineRunStatus.RUNNING, params={},
        executor="", dag=[], created_at=1, start_time=1, schedule=schedule,
    )  # fmt: skip
    return store.create_pipeline_run(run)[0].id


def test_runs_whose_launcher_still_reports_or_that_no_scheduler_started_are_left_alone(
    store: Store,
) -> None:
    from shipyard.pipelines._schedule import run_lease

    reported, by_hand = _running(store, "nightly"), _running(store, None)
    store.acquire_lease(run_lease(reported), "the-other-scheduler", 60)
    Scheduler(store, launcher=Recorder(), lease_seconds=60).tick()
    for run_id in (reported, by_hand):
        assert store.get_pipeline_run(run_id).status == PipelineRunStatus.RUNNING
    # without a lease there is no telling a dead launcher from a live one: nothing is failed
    orphan = _running(store, "nightly")
    Scheduler(store, launcher=Recorder()).tick()
    assert store.get_pipeline_run(orphan).status == PipelineRunStatus.RUNNING


def test_a_live_run_s_lease_is_renewed_and_given_up_when_it_ends(store: Store) -> None:
    from shipyard.pipelines._schedule import run_lease

    _due_schedule(store)
    recorder = Recorder()
    scheduler = Scheduler(store, launcher=recorder, lease_seconds=60)
    (run,) = scheduler.tick()
    scheduler.tick()  # the run's process lives: its lease is this scheduler's
    assert store.acquire_lease(run_lease(run.id), "someone-else", 60).holder == scheduler.holder
    store.update_pipeline_run(run.id, status=PipelineRunStatus.FINISHED, end_time=run.start_time)
    recorder.handles[run.id].code = 0
    scheduler.tick()
    assert store.acquire_lease(run_lease(run.id), "someone-else", 60).holder == "someone-else"


def test_ended_runs_are_counted_by_status_duration_and_cache_hits(
    sqlite_settings: Settings,
) -> None:
    store = LocalStore(sqlite_settings)
    _due_schedule(store)
    metrics, recorder = SchedulerMetrics(), Recorder()
    scheduler = Scheduler(store, launcher=recorder, lease_seconds=60, metrics=metrics)
    (run,) = scheduler.tick()
    labels = {"project": run.project, "pipeline": "p", "schedule": "nightly"}
    # before the first failure the series exists at zero, so the alert sees it increase
    assert _sample(metrics, "shipyard_pipeline_runs_total", **labels, status="FAILED") == 0
    assert _sample(metrics, "shipyard_scheduler_active") == 1
    store.add_step_runs(run.id, [
        StepRun("", run.id, "load", "m:load", "FINISHED", cache_hit=True),
        StepRun("", run.id, "fit", "m:fit", "FINISHED"),
        StepRun("", run.id, "score", "m:score", "FINISHED"),
    ])  # fmt: skip
    end = (run.start_time or 0) + 90_000
    store.update_pipeline_run(run.id, status=PipelineRunStatus.FINISHED, end_time=end)
    recorder.handles[run.id].code = 0
    scheduler.tick()
    assert _sample(metrics, "shipyard_pipeline_runs_total", **labels, status="FINISHED") == 1
    assert _sample(metrics, "shipyard_pipeline_runs_total", **labels, status="FAILED") == 0
    timing = {"project": run.project, "pipeline": "p"}
    assert _sample(metrics, "shipyard_pipeline_run_duration_seconds_sum", **timing) == 90
    assert _sample(metrics, "shipyard_pipeline_run_duration_seconds_count", **timing) == 1
    hits = {"project": run.project, "pipeline": "p", "cached": "true"}
    assert _sample(metrics, "shipyard_pipeline_steps_total", **hits) == 1
    assert _sample(metrics, "shipyard_pipeline_steps_total", **{**hits, "cached": "false"}) == 2
    success = {"project": run.project, "schedule": "nightly", "pipeline": "p"}
    name = "shipyard_pipeline_schedule_last_success_timestamp_seconds"
    assert _sample(metrics, name, **success) == end / 1000


def test_a_run_whose_process_crashed_counts_as_failed(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    _due_schedule(store)
    metrics, recorder = SchedulerMetrics(), Recorder()
    scheduler = Scheduler(store, launcher=recorder, lease_seconds=60, metrics=metrics)
    (run,) = scheduler.tick()
    recorder.handles[run.id].code = -9
    scheduler.tick()
    assert store.get_pipeline_run(run.id).status == PipelineRunStatus.FAILED
    labels = {"project": run.project, "pipeline": "p", "schedule": "nightly"}
    assert _sample(metrics, "shipyard_pipeline_runs_total", **labels, status="FAILED") == 1
    name = "shipyard_pipeline_schedule_last_success_timestamp_seconds"
    assert _sample(metrics, name, project=run.project, schedule="nightly", pipeline="p") is None


def test_a_standby_scheduler_reports_itself_inactive(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    store.acquire_lease("scheduler", "the-active-one", 60)
    metrics = SchedulerMetrics()
    standby = Scheduler(store, launcher=Recorder(), lease_seconds=60, metrics=metrics)
    assert standby.tick() == [] and not standby.active
    assert _sample(metrics, "shipyard_scheduler_active") == 0


def test_the_endpoint_serves_metrics_and_a_liveness_probe() -> None:
    metrics = SchedulerMetrics()
    metrics.active.set(1)
    healthy = [True]
    server = serve_metrics(metrics, "127.0.0.1", 0, lambda: healthy[0])
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        scraped = httpx.get(f"{base}/metrics", timeout=10)
        assert scraped.status_code == 200 and "text/plain" in scraped.headers["content-type"]
        assert "shipyard_scheduler_active 1.0" in scraped.text
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        healthy[0] = False  # the loop hung: liveness fails so the pod is restarted
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 503
        assert httpx.get(f"{base}/other", timeout=10).status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_a_scheduler_is_alive_until_its_passes_stop(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    scheduler = Scheduler(store, launcher=Recorder(), lease_seconds=60)
    assert scheduler.alive(60)  # started just now
    scheduler.last_pass -= 120  # no pass for two minutes
    assert not scheduler.alive(60)
    scheduler.tick()
    assert scheduler.alive(60)


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_a_bad_metrics_port_is_refused_naming_the_option(port: str) -> None:
    result = CliRunner().invoke(app, ["scheduler", "--once", "--metrics-port", port])
    assert result.exit_code == 2 and "--metrics-port" in result.output
