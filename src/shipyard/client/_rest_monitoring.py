"""RestStore's monitoring: monitors and their run history kept by the server."""

from __future__ import annotations

from shipyard.client._monitoring import MonitoringStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import Monitor, MonitorRun


class RestMonitoring(RestBase, MonitoringStore):
    """Monitors and monitor runs, kept by the server."""

    def put_monitor(self, monitor: Monitor) -> Monitor:
        found = self.http.send("PUT", f"/monitors/{monitor.name}", json=monitor.to_dict())
        return Monitor.from_dict(found)

    def get_monitor(self, name: str) -> Monitor:
        return Monitor.from_dict(self.http.send("GET", f"/monitors/{name}"))

    def list_monitors(self) -> list[Monitor]:
        return [Monitor.from_dict(m) for m in self.http.send("GET", "/monitors")["monitors"]]

    def delete_monitor(self, name: str) -> None:
        self.http.send("DELETE", f"/monitors/{name}")

    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        found = self.http.send("POST", f"/monitors/{run.monitor}/runs", json=run.to_dict())
        return MonitorRun.from_dict(found)

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        found = self.http.send("GET", f"/monitors/{name}/runs", params={"limit": limit})
        return [MonitorRun.from_dict(r) for r in found["runs"]]
