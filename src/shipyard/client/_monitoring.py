"""The monitoring slice of the Store protocol: monitors (what to watch, how often, what to
alert on) and their run history, with the input checks of each method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import clamped
from shipyard.client._features import check_feature_name
from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun
from shipyard.errors import InvalidArgument

#: The most runs one listing returns.
MAX_MONITOR_RUNS = 10_000


def check_monitor_name(name: Any) -> str:
    """A monitor's name (the feature-store naming rule)."""
    return check_feature_name(name, "monitor")


def checked_monitor(monitor: Monitor) -> Monitor:
    """A monitor with a valid name, model reference, window and JSON-friendly spec."""
    check_monitor_name(monitor.name)
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


def checked_monitor_run(run: MonitorRun) -> MonitorRun:
    """A run record with a name and an id (its status is checked when the record is built)."""
    check_monitor_name(run.monitor)
    if not run.id or len(run.id) > 32:
        raise InvalidArgument(
            f"a monitor run needs an id of 1 to 32 characters, got {run.id!r}", field="id"
        )
    return run


@runtime_checkable
class MonitoringStore(Protocol):
    """Monitors and their runs."""

    @checks(monitor=checked_monitor, project=v.check_project)
    def put_monitor(self, monitor: Monitor, project: str = DEFAULT_PROJECT) -> Monitor:
        """Create or replace a monitor by name, in ``project`` (an existing monitor keeps
        its project)."""
        ...

    @checks(name=check_monitor_name)
    def get_monitor(self, name: str) -> Monitor:
        """One monitor by name (NotFound names the known ones)."""
        ...

    def list_monitors(self, projects: Sequence[str] | None = None) -> list[Monitor]:
        """Every monitor of ``projects`` (every project when None), by name."""
        ...

    @checks(name=check_monitor_name)
    def delete_monitor(self, name: str) -> None:
        """Remove a monitor and its run history."""
        ...

    @checks(run=checked_monitor_run)
    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        """Record a finished monitor run."""
        ...

    @checks(name=check_monitor_name, limit=clamped(1, MAX_MONITOR_RUNS))
    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        """A monitor's runs, the newest first."""
        ...
