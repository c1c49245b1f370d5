"""Cron schedules for pipelines, and the scheduler loop that starts due runs (and runs any
other :class:`Job` it is given, e.g. monitors).

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
process exits without finishing it is marked FAILED.

One scheduler is active per store: with ``lease_seconds`` (what `shipyard scheduler` uses) a
scheduler takes the store's ``scheduler`` lease before each pass and renews it on every
pass; while another scheduler holds it, it stands by and does nothing, and takes over once
the lease expires (a holder that died or hung stops renewing). So two schedulers, replicas
of one deployment or started by mistake, never run one schedule twice. While a run's process
lives, the scheduler that launched it also renews a lease named after the run
(``pipeline-run-<id>``); a RUNNING scheduled run whose lease nobody renews any more (its
scheduler died, and its process with it) is marked FAILED by the active scheduler, so a
dead holder's runs never block their schedules.

With ``metrics`` (a :class:`SchedulerMetrics`), every run that ends is counted by final
status, duration and step cache hits (see ``shipyard.pipelines._metrics``).

A schedule, and the runs queued for it, belong to a project; the scheduler only ever starts
the pipeline registered under the schedule's pipeline name in that same project, by that
pipeline's own ``module:function`` reference: the ``ref`` stored on a schedule or a queued
run is never imported, so whoever may write schedules or runs cannot make the scheduler
import a module of their choosing. The clock
and the launcher can be replaced, which is how the tests drive it through days in a second.

Other periodic work plugs in as a :class:`Job`: an object with ``tick(now) -> list`` that the
scheduler calls on every pass with the same clock. Pipelines know nothing of what the jobs
do (monitoring, for one, sits above pipelines and brings its own job); a job that raises is
logged and the loop goes on, so one broken job never stops the others or the pipelines.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shipyard.client import Store, check_timing, now_ms, time_zone
from shipyard.entities import PipelineRun, PipelineRunStatus, Schedule
from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines._metrics import SchedulerMetrics
from shipyard.pipelines._pipeline import Pipeline, load_pipeline

MAX_CATCH_UP = 100
#: The lease the active scheduler holds.
SCHEDULER_LEASE = "scheduler"
#: The most RUNNING scheduled runs looked at per pass for a dead launcher.
MAX_ORPHANS = 1000
log = logging.getLogger("shipyard.scheduler")


def _store() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def due_times(cron: str, timezone: str, after_ms: int, until_ms: int, limit: int) -> list[int]:
    """Cron times strictly after ``after_ms`` and at most ``until_ms``, oldest first.

    Args:
        cron: A five-field cron expression.
        timezone: The IANA time zone the expression is read in.
        after_ms: Exclusive lower bound, milliseconds since the epoch.
        until_ms: Inclusive upper bound, milliseconds since the epoch.
        limit: The most times returned.

    Returns:
        The due times, in milliseconds since the epoch.
    """
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


def latest_due(cron: str, timezone: str, after_ms: int, until_ms: int) -> int | None:
    """The latest cron time strictly after ``after_ms`` and at most ``until_ms``, found
    directly (however long the scheduler was down), or None when none came due."""
    from croniter import croniter

    if until_ms <= after_ms:
        return None
    # croniter steps in whole seconds: start just past until_ms so a due time equal to it counts
    start = datetime.fromtimestamp((until_ms // 1000 + 1), tz=time_zone(timezone))
    moment = int(croniter(cron, start).get_prev(datetime).timestamp() * 1000)
    return moment if after_ms < moment <= until_ms else None


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

    Args:
        target: A pipeline, its ``module:function`` reference, or the name of a pipeline
            that ran before.
        cron: A five-field cron expression (``"0 3 * * *"``).
        name: The schedule's name; the pipeline's when None. Scheduling the same name
            again replaces it.
        params: The pipeline's parameters for every run.
        timezone: The IANA time zone the cron expression is read in.
        missed: After downtime, ``"skip"`` runs only the latest due time, ``"catch_up"``
            one run per missed time.
        overlap: While a run of the schedule is still going, ``"skip"`` drops a due time,
            ``"queue"`` starts it when the previous run ends.
        enabled: Whether the scheduler starts its runs.

    Returns:
        The stored schedule.

    Raises:
        InvalidArgument: A bad cron expression, time zone, ``missed`` or ``overlap``, or a
            pipeline defined in a script run directly (the scheduler must import it).
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
    from shipyard.tracking import get_client

    project = get_client().settings.project
    if found is not None:
        store.register_pipeline(found.name, found.ref, found.description, project=project)
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
        ),
        project=project,
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
            SHIPYARD_PROJECT=run.project,  # the run records its steps where its schedule is
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


class Job(Protocol):
    """Periodic work the scheduler drives: ``tick(now)`` does what is due at ``now`` (epoch
    ms, the scheduler's clock) and returns what it did (shown by ``shipyard scheduler``)."""

    def tick(self, now: int) -> list[Any]: ...


class Scheduler:
    """Starts due runs of every schedule and ticks every extra ``jobs`` entry; see the module
    docstring for the policies.

    Args:
        store: The store whose schedules to run (default: the current client's, with a
            subprocess launcher from its settings).
        clock: Now in epoch ms (default: the wall clock; tests pass a frozen one).
        launcher: What starts a queued run (required with an explicit ``store``).
        jobs: Extra periodic work ticked on every pass (monitors, materializations).
        lease_seconds: Take the scheduler lease for this long on each pass so only one
            scheduler is active per store (None: no lease, always active).
        metrics: Where ended runs, steps and schedule successes are counted for
            Prometheus (None: nowhere).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Callable[[], int] | None = None,
        launcher: Launcher | None = None,
        jobs: Sequence[Job] = (),
        lease_seconds: float | None = None,
        metrics: SchedulerMetrics | None = None,
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
        self.jobs = list(jobs)
        #: How long the scheduler lease is taken for on each pass (None: no lease).
        self.lease_seconds = lease_seconds
        #: Who this scheduler is when it holds the lease.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        #: Whether this scheduler held the lease at its last pass.
        self.active = lease_seconds is None
        #: Where ended runs are counted (None: nowhere).
        self.metrics = metrics
        #: ``time.monotonic()`` when the last pass ended (the start, before the first).
        self.last_pass = time.monotonic()

    def _take_lease(self) -> bool:
        """True when this scheduler may run this pass: it has no lease to take, or it took
        or renewed the lease. A store that cannot be reached means standing by."""
        if self.lease_seconds is None:
            return True
        try:
            lease = self.store.acquire_lease(SCHEDULER_LEASE, self.holder, self.lease_seconds)
        except Exception as exc:
            log.error("scheduler: cannot take the scheduler lease (%s); standing by", exc)
            self.active = False
            return False
        held = lease.holder == self.holder
        if held != self.active:
            if held:
                log.info("scheduler %s: active (holds the scheduler lease)", self.holder)
            else:
                log.info("scheduler %s: standing by, %s is active", self.holder, lease.holder)
        self.active = held
        if self.metrics is not None:
            self.metrics.active.set(1 if held else 0)
        return held

    def alive(self, within: float) -> bool:
        """Whether a pass ended (or the scheduler started) less than ``within`` seconds ago:
        False once the loop has hung."""
        return time.monotonic() - self.last_pass < within

    def close(self) -> None:
        """Give up the scheduler lease (another scheduler takes over at its next pass)."""
        if self.lease_seconds is not None and self.active:
            self.store.release_lease(SCHEDULER_LEASE, self.holder)
            self.active = False

    def _reap(self) -> None:
        """Mark runs whose process ended without finishing them as FAILED, count every run
        that ended, and renew the run lease of each run whose process still lives."""
        for run_id, handle in list(self.handles.items()):
            code = handle.poll()
            if code is None:
                if self.lease_seconds is not None:
                    self.store.acquire_lease(run_lease(run_id), self.holder, self.lease_seconds)
                continue
            del self.handles[run_id]
            run = self.store.get_pipeline_run(run_id)
            if run.status in (PipelineRunStatus.QUEUED, PipelineRunStatus.RUNNING):
                self._fail(run, f"the run's process exited with code {code} before it finished")
            else:
                self._ended(run)

    def _fail(self, run: PipelineRun, error: str) -> None:
        """Mark an unfinished run FAILED with ``error``, and count it."""
        end = self.clock()
        self.store.update_pipeline_run(
            run.id, status=PipelineRunStatus.FAILED, end_time=end, error=error
        )
        self._ended(replace(run, status=PipelineRunStatus.FAILED, end_time=end, error=error))

    def _ended(self, run: PipelineRun) -> None:
        """Give up a run's lease and count it in the metrics."""
        if self.lease_seconds is not None:
            self.store.release_lease(run_lease(run.id), self.holder)
        if self.metrics is not None:
            self.metrics.run_ended(run, self.store.list_step_runs(run.id))

    def _fail_orphans(self) -> None:
        """Mark FAILED every RUNNING scheduled run whose launching scheduler stopped renewing
        its run lease (it died or hung, and a holder's runs live in its process tree)."""
        if self.lease_seconds is None:
            return  # without leases there is no telling a live launcher from a dead one
        running = self.store.list_pipeline_runs(
            statuses=[PipelineRunStatus.RUNNING], limit=MAX_ORPHANS
        )
        for run in running:
            if run.schedule is None or run.id in self.handles:
                continue
            lease = self.store.acquire_lease(run_lease(run.id), self.holder, self.lease_seconds)
            if lease.holder != self.holder:
                continue  # its scheduler still reports on it
            log.warning(
                "run %s of schedule %s: its scheduler stopped reporting", run.id, run.schedule
            )
            self._fail(
                run,
                "the scheduler that launched this run stopped reporting (its lease expired): "
                "the run's process is presumed dead",
            )

    def _registered_ref(self, sched: Schedule) -> str | None:
        """The ``module:function`` of the pipeline the schedule names, registered in the
        schedule's project; None (logged) when there is none."""
        try:
            pipeline = self.store.get_pipeline(sched.pipeline)
        except NotFound:
            pipeline = None
        if pipeline is None or pipeline.project != sched.project:
            log.error(
                "schedule %s: no pipeline %r is registered in project %r; nothing is started",
                sched.name,
                sched.pipeline,
                sched.project,
            )
            return None
        return pipeline.ref

    def _queue(self, sched: Schedule, now: int) -> list[PipelineRun]:
        after = sched.last_fire_at or sched.created_at
        if sched.missed == "skip":
            latest = latest_due(sched.cron, sched.timezone, after, now)
            fires = [] if latest is None else [latest]
        else:
            fires = due_times(sched.cron, sched.timezone, after, now, MAX_CATCH_UP)
        if not fires:
            return []
        chosen = fires
        self.store.set_schedule_fired(sched.name, chosen[-1])
        active = self.store.list_pipeline_runs(
            schedule=sched.name,
            statuses=[PipelineRunStatus.QUEUED, PipelineRunStatus.RUNNING],
            limit=1,
            projects=[sched.project],
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
                status=PipelineRunStatus.QUEUED,
                params=sched.params,
                executor="",
                dag=[],
                created_at=now,
                schedule=sched.name,
                scheduled_for=moment,
            )
            runs.append(self.store.create_pipeline_run(run, project=sched.project)[0])
        return runs

    def _launch_next(self, sched: Schedule) -> PipelineRun | None:
        own = [sched.project]
        if self.store.list_pipeline_runs(
            schedule=sched.name, statuses=[PipelineRunStatus.RUNNING], limit=1, projects=own
        ):
            return None
        queued = self.store.list_pipeline_runs(
            schedule=sched.name,
            statuses=[PipelineRunStatus.QUEUED],
            limit=MAX_CATCH_UP * 10,
            projects=own,
        )
        queued = [r for r in queued if r.pipeline == sched.pipeline]
        if not queued:
            return None
        ref = self._registered_ref(sched)
        if ref is None:
            return None
        run = min(queued, key=lambda r: (r.scheduled_for or 0, r.created_at))
        now = self.clock()
        self.store.update_pipeline_run(run.id, status=PipelineRunStatus.RUNNING, start_time=now)
        run = replace(run, status=PipelineRunStatus.RUNNING, start_time=now, ref=ref)
        if self.metrics is not None:
            self.metrics.run_started(run)
        self.handles[run.id] = self.launcher.launch(run)
        log.info("schedule %s: started run %s (due %s)", sched.name, run.id, _iso(run))
        return run

    def _pipelines(self, now: int) -> list[PipelineRun]:
        self._reap()
        self._fail_orphans()
        started = []
        for sched in self.store.list_schedules():
            if not sched.enabled:
                continue
            self._queue(sched, now)
            run = self._launch_next(sched)
            if run is not None:
                started.append(run)
        return started

    def tick(self) -> list[Any]:
        """One pass: reap ended runs, queue due ones, start what may start, then tick each
        job. Returns the pipeline runs started followed by what the jobs returned. An error
        in one part is logged and the rest still runs. A scheduler standing by (another
        holds the lease) does nothing and returns nothing."""
        if not self._take_lease():
            self.last_pass = time.monotonic()
            return []
        now = self.clock()
        done: list[Any] = []
        for name, part in (("pipelines", self._pipelines), *self._named_jobs()):
            try:
                done.extend(part(now))
            except Exception:
                log.exception("scheduler: %s failed this tick; continuing", name)
        self.last_pass = time.monotonic()
        return done

    def _named_jobs(self) -> list[tuple[str, Callable[[int], list[Any]]]]:
        return [(type(job).__name__, job.tick) for job in self.jobs]

    def run_forever(
        self, interval: float = 30.0, stop: threading.Event | None = None
    ) -> None:  # pragma: no cover - a loop around tick(), which the tests drive
        """Tick every ``interval`` seconds until ``stop`` is set (or Ctrl-C)."""
        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(interval)
        finally:
            self.close()


def run_lease(run_id: str) -> str:
    """The lease the launching scheduler renews while a run's process lives."""
    return f"pipeline-run-{run_id}"


def _iso(run: PipelineRun) -> str:
    if run.scheduled_for is None:
        return "-"
    return datetime.fromtimestamp(run.scheduled_for / 1000, tz=UTC).isoformat()


__all__ = ["Job", "Scheduler", "SubprocessLauncher", "due_times", "latest_due", "schedule"]
