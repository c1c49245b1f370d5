"""LocalStore's monitoring: monitors and their run history in the metadata database."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._local_base import LocalBase
from shipyard.client._monitoring import MonitoringStore
from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun
from shipyard.store import monitoring_db


class LocalMonitoring(LocalBase, MonitoringStore):
    """Monitors and their runs over the metadata database."""

    def put_monitor(self, monitor: Monitor, project: str = DEFAULT_PROJECT) -> Monitor:
        with self._write() as conn:
            return monitoring_db.put_monitor(conn, monitor, self._now(), project)

    def get_monitor(self, name: str) -> Monitor:
        return self._read(lambda c: monitoring_db.get_monitor(c, name))

    def list_monitors(self, projects: Sequence[str] | None = None) -> list[Monitor]:
        return self._read(lambda c: monitoring_db.list_monitors(c, projects))

    def delete_monitor(self, name: str) -> None:
        with self._write() as conn:
            monitoring_db.delete_monitor(conn, name)

    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        with self._write() as conn:
            return monitoring_db.add_run(conn, run)

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        return self._read(lambda c: monitoring_db.list_runs(c, name, limit))
