"""RestStore's deployments: model servers and their changes, kept by the server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.client._deployments import DeploymentsStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import Deployment, DeploymentEvent, DeploymentStatus


class RestDeployments(RestBase, DeploymentsStore):
    """Deployments and their events, kept by the server."""

    def put_deployment(self, deployment: Deployment) -> Deployment:
        found = self.http.send("PUT", f"/deployments/{deployment.id}", json=deployment.to_dict())
        return Deployment.from_dict(found)

    def heartbeat_deployment(self, deployment_id: str) -> Deployment:
        found = self.http.send("POST", f"/deployments/{deployment_id}/heartbeat")
        return Deployment.from_dict(found)

    def stop_deployment(self, deployment_id: str) -> Deployment:
        found = self.http.send("POST", f"/deployments/{deployment_id}/stop")
        return Deployment.from_dict(found)

    def get_deployment(self, deployment_id: str) -> Deployment:
        return Deployment.from_dict(self.http.send("GET", f"/deployments/{deployment_id}"))

    def list_deployments(
        self,
        projects: Sequence[str] | None = None,
        model: str | None = None,
        status: DeploymentStatus | None = None,
        limit: int = 100,
    ) -> list[Deployment]:
        params: dict[str, Any] = {"limit": limit}
        if projects is not None:
            params["project"] = list(projects)
        if model is not None:
            params["model"] = model
        if status is not None:
            params["status"] = status.value
        found = self.http.send("GET", "/deployments", params=params)
        return [Deployment.from_dict(d) for d in found["deployments"]]

    def list_deployment_events(
        self, deployment_id: str, limit: int = 1000
    ) -> list[DeploymentEvent]:
        found = self.http.send(
            "GET", f"/deployments/{deployment_id}/events", params={"limit": limit}
        )
        return [DeploymentEvent.from_dict(e) for e in found["events"]]
