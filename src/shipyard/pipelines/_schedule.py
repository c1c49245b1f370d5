"""Cron schedules for pipelines, and the scheduler loop that starts due runs.

Each tick, for every enabled schedule, the scheduler lists the cron times that came due since
the last one it handled:

* ``missed="skip"`` runs only the latest of them (after downtime, the missed ones are
  dropped); ``missed="catch_up"`` queues one run per due time (at most 100 a tick), oldest
  first.
* ``overlap="skip"`` drops the due times while a run of the schedule is still queued or
  running; ``overlap="queue"`` queues them anyway.

Runs of one schedule go one at a time: a QUEUED run starts when none of its schedule runs.
The launcher starts each run in a process of its own (``shipyard pipelines run ...
--queued-run ID``), so a crashing pipeline cannot take the scheduler down; a run whose
process exits without finishing it is marked FAILED. Run one scheduler per store. The clock
and the launcher can be replaced, which is how the tests drive it through days in a second.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shipyard.client import Store, now_ms
from shipyard.client._checks import check_timing, time_zone
from shipyard.entities import PipelineRun, Schedule
from shipyard.errors import InvalidArgument
from shipyard.pipelines._pipeline import Pipeline, load_pipeline

MAX_CATCH_UP = 100
log = logging.getLogger("shipyard.scheduler")


def _store() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def due_times(cron: str, timezone: str, after_ms: int, until_ms: int, limit: int) -> list[int]:
    """Cron times strictly after ``after_ms`` and at most ``until_ms`` (at most ``limit``)."""
    from croniter import croniter

    start = datetime.fromtimestamp(after_ms / 1000, tz=time_zone(timezone))
    times: list[int] = []
    iterator = croniter(cron, start)
    while len(times) < limit:
        moment = int(iterator.get_next(datetime).timestamp() * 1000)
        if moment > until_ms:
            break
        times.append(moment)
    return times


def _resolve(target: Pipeline | str, store: Store) -> tuple[str, str, Pipeline | None]:
    if isinstance(target, Pipeline):
        return target.name, target.ref, target
    if ":" in target:
        found = load_pipeline(target)
        return found.name, target, found
    info = store.get_pipeline(target)
    return info.name, info.ref, None


def schedule(
    target: Pipeline | str,
    cron: str,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    timezone: str = "UTC",
    missed: str = "skip",
    overlap: str = "skip",
    enabled: bool = True,
) -> Schedule:
    """Run a pipeline on a cron schedule (``shipyard scheduler`` starts the runs).

    ``target`` is a pipeline, its ``module:function`` reference or the name of a pipeline
    that ran before. The schedule is named after the pipeline unless ``name`` is given;
    scheduling the same name again replaces it.
    """
    store = _store()
    check_timing(cron, timezone, missed, overlap)
    pipeline_name, ref, found = _resolve(target, store)
    if ref.startswith("__main__:"):
        raise InvalidArgument(
            f"pipeline {pipeline_name!r} is defined in a script run directly; the scheduler "
            "must import it, so move it into a module",
            field="pipeline",
        )
    values = found.bind(params or {}) if found is not None else dict(params or {})
    if found is not None:
        store.register_pipeline(found.name, found.ref, found.description)
    now = now_ms()
    return store.put_schedule(
        Schedule(
            name=name or pipeline_name,
            pipeline=pipeline_name,
            ref=ref,
            cron=cron,
            timezone=timezone,
            params=values,
            missed=missed,
            overlap=overlap,
            enabled=enabled,
            created_at=now,
            last_fire_at=now,
        )
    )


class RunHandle(Protocol):
    """A launched run's process: ``poll()`` is None while it runs, else its exit code."""

    def poll(self) -> int | None: ...


class Launcher(Protocol):
    """Starts a QUEUED pipeline run somewhere (by default: a subprocess)."""

    def launch(self, run: PipelineRun) -> RunHandle: ...


class SubprocessLauncher:
    """Runs each pipeline run as ``python -m shipyard pipelines run REF --queued-run ID``,
    logging to ``<home>/logs/scheduler/<run id>.log``."""

    def __init__(self, settings: Any, cwd: Path | None = None) -> None:
        self.settings = settings
        self.cwd = cwd or Path.cwd()

    def launch(self, run: PipelineRun) -> RunHandle:
        logs = Path(self.settings.home) / "logs" / "scheduler"
        logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            SHIPYARD_HOME=str(self.settings.home),
            SHIPYARD_DB_URL=self.settings.db_url,
            SHIPYARD_ARTIFACTS_URI=self.settings.artifacts_uri,
        )
        # A scheduler working through a server starts runs that report to the same server.
        for name, value in (
            ("SHIPYARD_TRACKING_URI", self.settings.tracking_uri),
            ("SHIPYARD_TOKEN", self.settings.token),
            ("SHIPYARD_CREDENTIALS_FILE", self.settings.credentials_file),
        ):
            if value:
                env[name] = value
        command = [sys.executable, "-m", "shipyard", "pipelines", "run", run.ref]
        command += ["--queued-run", run.id]
        with open(logs / f"{run.id}.log", "ab") as out:
            return subprocess.Popen(
                command, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )


class Scheduler:
    """Starts due runs of every schedule; see the module docstring for the policies."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Callable[[], int] | None = None,
        launcher: Launcher | None = None,
    ) -> None:
        if store is None:
            from shipyard.tracking import get_client

            client = get_client()
            store, settings = client.store, client.settings
            launcher = launcher or SubprocessLauncher(settings)
        if launcher is None:
            raise InvalidArgument("a Scheduler with its own store needs a launcher")
        self.store = store
        self.clock = clock or now_ms
        self.launcher = launcher
        self.handles: dict[str, RunHandle] = {}

    def _reap(self) -> None:
        """Mark runs whose process ended without finishing them as FAILED."""
        for run_id, handle in list(self.handles.items()):
            code = handle.poll()
            if code is None:
                continue
            del self.handles[run_id]
            run = self.store.get_pipeline_run(run_id)
            if run.status in ("QUEUED", "RUNNING"):
                self.store.update_pipeline_run(
                    run_id,
                    status="FAILED",
                    end_time=self.clock(),
                    error=f"the run's process exited with code {code} before it finished",
                )

    def _queue(self, sched: Schedule, now: int) -> list[PipelineRun]:
        after = sched.last_fire_at or sched.created_at
        fires = due_times(sched.cron, sched.timezone, after, now, MAX_CATCH_UP + 1)
        if not fires:
            return []
        chosen = fires[-1:] if sched.missed == "skip" else fires[:MAX_CATCH_UP]
        self.store.set_schedule_fired(
            sched.name, chosen[-1] if sched.missed != "skip" else fires[-1]
        )
        active = self.store.list_pipeline_runs(
            schedule=sched.name, statuses=["QUEUED", "RUNNING"], limit=1
        )
        if active and sched.overlap == "skip":
            log.info("schedule %s: %d due run(s) dropped, a run is active", sched.name, len(fires))
            return []
        runs = []
        for moment in chosen:
            run = PipelineRun(
                id="",
                pipeline=sched.pipeline,
                ref=sched.ref,
                status="QUEUED",
                params=sched.params,
                executor="",
                dag=[],
                created_at=now,
                schedule=sched.name,
                scheduled_for=moment,
            )
            runs.append(self.store.create_pipeline_run(run)[0])
        return runs

    def _launch_next(self, sched: Schedule) -> PipelineRun | None:
        if self.store.list_pipeline_runs(schedule=sched.name, statuses=["RUNNING"], limit=1):
            return None
        queued = self.store.list_pipeline_runs(
            schedule=sched.name, statuses=["QUEUED"], limit=MAX_CATCH_UP * 10
        )
        if not queued:
            return None
        run = min(queued, key=lambda r: (r.scheduled_for or 0, r.created_at))
        now = self.clock()
        self.store.update_pipeline_run(run.id, status="RUNNING", start_time=now)
        run = replace(run, status="RUNNING", start_time=now)
        self.handles[run.id] = self.launcher.launch(run)
        log.info("schedule %s: started run %s (due %s)", sched.name, run.id, _iso(run))
        return run

    def tick(self) -> list[PipelineRun]:
        """One pass: reap ended runs, queue due ones, start what may start. Returns the runs
        started."""
        self._reap()
        now = self.clock()
        started = []
        for sched in self.store.list_schedules():
            if not sched.enabled:
                continue
            self._queue(sched, now)
            run = self._launch_next(sched)
            if run is not None:
                started.append(run)
        return started

    def run_forever(
        self, interval: float = 30.0, stop: threading.Event | None = None
    ) -> None:  # pragma: no cover - a loop around tick(), which the tests drive
        """Tick every ``interval`` seconds until ``stop`` is set (or Ctrl-C)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.tick()
            stop.wait(interval)


def _iso(run: PipelineRun) -> str:
    if run.scheduled_for is None:
        return "-"
    return datetime.fromtimestamp(run.scheduled_for / 1000, tz=UTC).isoformat()


__all__ = ["Scheduler", "SubprocessLauncher", "due_times", "schedule"]
