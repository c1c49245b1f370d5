"""Monitors on the scheduler: a :class:`shipyard.pipelines.Job` that runs every monitor with a
cron ``schedule`` when it comes due.

Each monitor runs at most once per due time, over the window ending at that due time (so the
windows of a ``*/15`` monitor line up on the quarter hours). After downtime only the latest
missed due time runs (like a pipeline schedule's ``missed="skip"``): a monitor scores the
most recent window, older windows would only repeat stale alerts.

The last handled due time is the newest run's ``window_end`` (a run of the monitor started by
hand counts too), or the monitor's creation time when it never ran: nothing extra is
stored. A run that fails (no reference, an empty window, missing columns, an unreachable
webhook, any exception) is recorded as a ``failed`` run with the reason and logged; the job
goes on with the next monitor and the scheduler with its next tick.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid

from shipyard.client import Store
from shipyard.config import Settings
from shipyard.entities import Monitor, MonitorRun, MonitorRunStatus
from shipyard.errors import InvalidArgument
from shipyard.monitoring._monitor import run_monitor
from shipyard.monitoring._performance import window_ms
from shipyard.pipelines import latest_due

log = logging.getLogger("shipyard.scheduler")


class MonitorJob:
    """Runs due monitors; give it to ``Scheduler(jobs=[MonitorJob()])``."""

    def __init__(self, store: Store | None = None, settings: Settings | None = None) -> None:
        if store is None or settings is None:
            from shipyard.tracking import get_client

            client = get_client()
            store, settings = store or client.store, settings or client.settings
        self.store = store
        self.settings = settings
        # due times handled by this process, in case a failed run could not even be recorded
        self.handled: dict[str, int] = {}

    def due(self, monitor: Monitor, now: int) -> int | None:
        """The due time to run ``monitor`` for at ``now``, or None when it is not due."""
        if not monitor.schedule:
            return None
        runs = self.store.list_monitor_runs(monitor.name, limit=1)
        after = max(
            runs[0].window_end if runs else monitor.created_at,
            self.handled.get(monitor.name, 0),
        )
        return latest_due(monitor.schedule, "UTC", after, now)

    def tick(self, now: int) -> list[MonitorRun]:
        """Run every due monitor once; returns the runs (ok or failed)."""
        done = []
        for monitor in self.store.list_monitors():
            try:
                moment = self.due(monitor, now)
            except Exception as exc:
                log.error("monitor %s: cannot tell whether it is due: %s", monitor.name, exc)
                continue
            if moment is None:
                continue
            self.handled[monitor.name] = moment
            run = self._run(monitor, moment)
            if run is not None:
                done.append(run)
        return done

    def _run(self, monitor: Monitor, moment: int) -> MonitorRun | None:
        try:
            run = run_monitor(monitor.name, now=moment, store=self.store, settings=self.settings)
        except Exception as exc:  # recorded below: a monitor must never stop the scheduler
            log.error("monitor %s: run crashed: %s", monitor.name, exc)
            return self._record_crash(monitor, moment, exc)
        if run.status != MonitorRunStatus.OK:
            log.warning("monitor %s: run failed: %s", monitor.name, run.error)
        for note in run.result.get("notifications", []):
            if not note.get("ok"):
                log.warning(
                    "monitor %s: alert delivery to %s failed after %s attempts: %s",
                    monitor.name,
                    note.get("url", note.get("channel")),
                    note.get("attempts"),
                    note.get("error"),
                )
        return run

    def _record_crash(self, monitor: Monitor, moment: int, exc: Exception) -> MonitorRun | None:
        now = int(time.time() * 1000)
        try:
            start = moment - window_ms(monitor.window)
        except InvalidArgument:
            start = moment
        run = MonitorRun(
            uuid.uuid4().hex,
            monitor.name,
            now,
            now,
            start,
            moment,
            0,
            MonitorRunStatus.FAILED,
            {"metrics": {}, "traceback": traceback.format_exc(limit=5)},
            f"the run crashed: {type(exc).__name__}: {exc}",
        )
        try:
            return self.store.add_monitor_run(run)
        except Exception as again:
            log.error("monitor %s: the failed run could not be recorded: %s", monitor.name, again)
            return None


__all__ = ["MonitorJob"]
