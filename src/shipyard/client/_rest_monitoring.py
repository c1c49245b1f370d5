"""RestStore's monitoring calls: monitors and their run history on the server, checked here
first with LocalStore's own checks so a bad name fails before a round trip."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.client._local_features import check_feature_name
from shipyard.client._local_monitoring import checked_monitor, checked_run
from shipyard.entities import Monitor, MonitorRun

if TYPE_CHECKING:
    from shipyard.client._http import Http


class RestMonitoringMixin:
    """Monitors and monitor runs, kept by the server."""

    http: Http

    def put_monitor(self, monitor: Monitor) -> Monitor:
        clean = checked_monitor(monitor)
        found = self.http.send("PUT", f"/monitors/{clean.name}", json=clean.to_dict())
        return Monitor.from_dict(found)

    def get_monitor(self, name: str) -> Monitor:
        return Monitor.from_dict(
            self.http.send("GET", f"/monitors/{check_feature_name(name, 'monitor')}")
        )

    def list_monitors(self) -> list[Monitor]:
        return [Monitor.from_dict(m) for m in self.http.send("GET", "/monitors")["monitors"]]

    def delete_monitor(self, name: str) -> None:
        self.http.send("DELETE", f"/monitors/{check_feature_name(name, 'monitor')}")

    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        clean = checked_run(run)
        found = self.http.send("POST", f"/monitors/{clean.monitor}/runs", json=clean.to_dict())
        return MonitorRun.from_dict(found)

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        path = f"/monitors/{check_feature_name(name, 'monitor')}/runs"
        found = self.http.send("GET", path, params={"limit": max(1, limit)})
        return [MonitorRun.from_dict(r) for r in found["runs"]]
