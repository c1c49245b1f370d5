"""LocalStore operations for monitors and their run history (mixed into LocalStore)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection

from shipyard.client._local_features import check_feature_name
from shipyard.entities import Monitor, MonitorRun
from shipyard.errors import InvalidArgument
from shipyard.store import monitoring_db

T = TypeVar("T")
MONITOR_RUN_STATUSES = ("ok", "failed")


def checked_monitor(monitor: Monitor) -> Monitor:
    """A monitor with a valid name, model reference, window and JSON-friendly spec."""
    check_feature_name(monitor.name, "monitor")
    if not isinstance(monitor.model, str) or not monitor.model or len(monitor.model) > 256:
        raise InvalidArgument(
            f"model must be a model reference like 'churn@champion', got {monitor.model!r}",
            field="model",
        )
    if not isinstance(monitor.window, str) or not 0 < len(monitor.window) <= 32:
        raise InvalidArgument(f"window must be like '1h', got {monitor.window!r}", field="window")
    if not isinstance(monitor.schedule, str) or len(monitor.schedule) > 128:
        raise InvalidArgument("schedule must be a cron string", field="schedule")
    if not all(isinstance(a, str) for a in monitor.alerts):
        raise InvalidArgument("alerts must be rule strings", field="alerts")
    if not all(isinstance(c, dict) and "type" in c for c in monitor.channels):
        raise InvalidArgument("each alert channel needs a 'type'", field="channels")
    if not isinstance(monitor.options, dict):
        raise InvalidArgument("options must be a mapping", field="options")
    return monitor


def checked_run(run: MonitorRun) -> MonitorRun:
    """A run record with a known status and a name."""
    check_feature_name(run.monitor, "monitor")
    if run.status not in MONITOR_RUN_STATUSES or not run.id or len(run.id) > 32:
        raise InvalidArgument(
            f"a monitor run needs an id and a status in {MONITOR_RUN_STATUSES}, got {run.status!r}",
            field="status",
        )
    return run


class MonitoringStoreMixin:
    """Monitors and their runs over the metadata database."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...
        @staticmethod
        def _now() -> int: ...

    def put_monitor(self, monitor: Monitor) -> Monitor:
        """Create or replace a monitor."""
        clean = checked_monitor(monitor)
        with self._write() as conn:
            return monitoring_db.put_monitor(conn, clean, self._now())

    def get_monitor(self, name: str) -> Monitor:
        """One monitor by name (NotFound names the known ones)."""
        check_feature_name(name, "monitor")
        return self._read(lambda c: monitoring_db.get_monitor(c, name))

    def list_monitors(self) -> list[Monitor]:
        """Every monitor, by name."""
        return self._read(monitoring_db.list_monitors)

    def delete_monitor(self, name: str) -> None:
        """Remove a monitor and its run history."""
        check_feature_name(name, "monitor")
        with self._write() as conn:
            monitoring_db.delete_monitor(conn, name)

    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        """Record a monitor run."""
        clean = checked_run(run)
        with self._write() as conn:
            return monitoring_db.add_run(conn, clean)

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        """A monitor's runs, the newest first."""
        check_feature_name(name, "monitor")
        return self._read(lambda c: monitoring_db.list_runs(c, name, max(1, min(limit, 10_000))))
