"""RestStore's monitoring: monitors and their run history kept by the server."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._monitoring import MonitoringStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun


class RestMonitoring(RestBase, MonitoringStore):
    """Monitors and monitor runs, kept by the server."""

    def put_monitor(self, monitor: Monitor, project: str = DEFAULT_PROJECT) -> Monitor:
        body = {**monitor.to_dict(), "project": project}
        found = self.http.send("PUT", f"/monitors/{monitor.name}", json=body)
        return Monitor.from_dict(found)

    def get_monitor(self, name: str) -> Monitor:
        return Monitor.from_dict(self.http.send("GET", f"/monitors/{name}"))

    def list_monitors(self, projects: Sequence[str] | None = None) -> list[Monitor]:
        params = None if projects is None else {"project": list(projects)}
        found = self.http.send("GET", "/monitors", params=params)
        return [Monitor.from_dict(m) for m in found["monitors"]]

    def delete_monitor(self, name: str) -> None:
        self.http.send("DELETE", f"/monitors/{name}")

    def add_monitor_run(self, run: MonitorRun) -> MonitorRun:
        found = self.http.send(  # a repeat of a stored run would be a conflict on its id
            "POST", f"/monitors/{run.monitor}/runs", json=run.to_dict(), idempotent=False
        )
        return MonitorRun.from_dict(found)

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        found = self.http.send("GET", f"/monitors/{name}/runs", params={"limit": limit})
        return [MonitorRun.from_dict(r) for r in found["runs"]]
