"""LocalStore's deployments: model servers and their changes in the metadata database."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._deployments import DeploymentsStore
from shipyard.client._local_base import LocalBase
from shipyard.entities import Deployment, DeploymentEvent, DeploymentStatus
from shipyard.store import deployments_db


class LocalDeployments(LocalBase, DeploymentsStore):
    """Deployments and their events over the metadata database."""

    def put_deployment(self, deployment: Deployment) -> Deployment:
        with self._write() as conn:
            return deployments_db.put_deployment(conn, deployment, self._now())

    def heartbeat_deployment(self, deployment_id: str) -> Deployment:
        with self._write() as conn:
            return deployments_db.heartbeat(conn, deployment_id, self._now())

    def stop_deployment(self, deployment_id: str) -> Deployment:
        with self._write() as conn:
            return deployments_db.stop(conn, deployment_id, self._now())

    def get_deployment(self, deployment_id: str) -> Deployment:
        return self._read(lambda c: deployments_db.get_deployment(c, deployment_id))

    def list_deployments(
        self,
        projects: Sequence[str] | None = None,
        model: str | None = None,
        status: DeploymentStatus | None = None,
        limit: int = 100,
    ) -> list[Deployment]:
        return self._read(
            lambda c: deployments_db.list_deployments(c, projects, model, status, limit)
        )

    def list_deployment_events(
        self, deployment_id: str, limit: int = 1000
    ) -> list[DeploymentEvent]:
        return self._read(lambda c: deployments_db.list_events(c, deployment_id, limit))
