"""The deployments slice of the Store protocol: model servers recording what they serve,
where and since when, and their history of changes, with the input checks of each method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import number_in, optional, page_limit
from shipyard.entities import Deployment, DeploymentEvent, DeploymentStatus, as_status
from shipyard.errors import InvalidArgument

#: The most deployments or events one listing returns.
MAX_DEPLOYMENTS = 10_000
#: The longest address a deployment may give (a URL).
MAX_ADDRESS_LEN = 1024


def check_deployment_id(deployment_id: Any) -> str:
    """A deployment id: 1 to 32 lowercase hexadecimal characters."""
    if (
        not isinstance(deployment_id, str)
        or not 0 < len(deployment_id) <= 32
        or any(c not in "0123456789abcdef" for c in deployment_id)
    ):
        raise InvalidArgument(
            f"a deployment id is 1 to 32 hexadecimal characters, got {deployment_id!r}",
            field="deployment",
        )
    return deployment_id


def check_deployment_status(status: Any) -> DeploymentStatus:
    """``running`` or ``stopped``."""
    return as_status(DeploymentStatus, status)


def checked_deployment(deployment: Deployment) -> Deployment:
    """A deployment with a valid id, model, reference, versions, share and address (its
    mode and status are checked when the record is built)."""
    if not isinstance(deployment, Deployment):
        raise InvalidArgument("a deployment record is needed", field="deployment")
    check_deployment_id(deployment.id)
    v.check_model_name(deployment.model)
    v.check_name(deployment.reference, "reference")
    v.check_version(deployment.version)
    if deployment.challenger:
        v.check_alias(deployment.challenger, settable=False)
    if deployment.challenger_version:
        v.check_version(deployment.challenger_version)
    number_in(deployment.traffic_share, 0.0, 1.0, "traffic_share")
    v.check_text(deployment.address, "address", MAX_ADDRESS_LEN)
    return deployment


@runtime_checkable
class DeploymentsStore(Protocol):
    """Deployments and their changes."""

    @checks(deployment=checked_deployment)
    def put_deployment(self, deployment: Deployment) -> Deployment:
        """Record a model server that starts (an unknown id), or what a running one serves
        now: a change of version (an alias swap), of challenger, mode or share is recorded as
        an event, with a lineage edge from each version served. The store sets the times;
        the project is the model's (NotFound when the model or a version is not
        registered). A stopped deployment is not updated (Conflict)."""
        ...

    @checks(deployment_id=check_deployment_id)
    def heartbeat_deployment(self, deployment_id: str) -> Deployment:
        """Note that a running deployment is alive."""
        ...

    @checks(deployment_id=check_deployment_id)
    def stop_deployment(self, deployment_id: str) -> Deployment:
        """Mark a deployment stopped (once; again changes nothing)."""
        ...

    @checks(deployment_id=check_deployment_id)
    def get_deployment(self, deployment_id: str) -> Deployment:
        """One deployment (NotFound when there is none)."""
        ...

    @checks(
        model=optional(v.check_model_name),
        status=optional(check_deployment_status),
        limit=page_limit(MAX_DEPLOYMENTS),
    )
    def list_deployments(
        self,
        projects: Sequence[str] | None = None,
        model: str | None = None,
        status: DeploymentStatus | None = None,
        limit: int = 100,
    ) -> list[Deployment]:
        """Deployments of ``projects`` (every project when None), of one model and status
        when given, the most recently started first."""
        ...

    @checks(deployment_id=check_deployment_id, limit=page_limit(MAX_DEPLOYMENTS))
    def list_deployment_events(
        self, deployment_id: str, limit: int = 1000
    ) -> list[DeploymentEvent]:
        """A deployment's changes (started, swapped, challenger, stopped), the oldest first
        (the newest ``limit`` of them)."""
        ...
