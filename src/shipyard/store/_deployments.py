"""Queries for deployments (model servers) and their history of changes.

A deployment belongs to the project of the model it serves, fixed when it is first
recorded. Each change of what it serves (the primary version after an alias swap, the
challenger's version, the rollout mode or share) is an event, written in the same
transaction as the change, with the lineage edge ``model_version -> deployment`` of every
version it has served.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, update

from shipyard.entities import (
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentStatus,
    LineageEdge,
    LineageNode,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.store._lineage import add_edges
from shipyard.store._models.deployments import DEPLOYMENT_EVENTS, DEPLOYMENTS
from shipyard.store._registry import model_row, version_row
from shipyard.store._sql import record

#: The lineage node kind of a deployment.
DEPLOYMENT_NODE = "deployment"


def _row(conn: Connection, deployment_id: str, *, lock: bool = False) -> Deployment:
    query = select(DEPLOYMENTS).where(DEPLOYMENTS.c.id == deployment_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"no deployment with id {deployment_id!r}; list them with `shipyard deployments list`",
            field="deployment",
        )
    return record(Deployment, row)


def get_deployment(conn: Connection, deployment_id: str) -> Deployment:
    """One deployment, or NotFound."""
    return _row(conn, deployment_id)


def put_deployment(conn: Connection, deployment: Deployment, now: int) -> Deployment:
    """Record a deployment that starts (an unknown id) or what a running one serves now.

    The model and its versions must be registered; the project is the model's. A change of
    what it serves is an event; a call that changes nothing only counts as a heartbeat. The
    model and reference of a deployment never change, and a stopped one is not updated
    (Conflict): a server that starts again is a new deployment.
    """
    model = model_row(conn, deployment.model)
    versions = [deployment.version]
    if deployment.challenger_version:
        versions.append(deployment.challenger_version)
    version_ids = [version_row(conn, model.id, model.name, v).id for v in versions]
    existing = conn.execute(
        select(DEPLOYMENTS).where(DEPLOYMENTS.c.id == deployment.id).with_for_update()
    ).first()
    serving = {
        "version": deployment.version,
        "mode": deployment.mode.value,
        "challenger": deployment.challenger,
        "challenger_version": deployment.challenger_version,
        "traffic_share": deployment.traffic_share,
        "address": deployment.address,
        "heartbeat_at": now,
    }
    if existing is None:
        conn.execute(
            DEPLOYMENTS.insert().values(
                id=deployment.id,
                model=model.name,
                reference=deployment.reference,
                status=DeploymentStatus.RUNNING.value,
                started_at=now,
                stopped_at=0,
                project=model.project,
                **serving,
            )
        )
        kind: DeploymentEventKind | None = DeploymentEventKind.STARTED
    else:
        before = record(Deployment, existing)
        if before.model != deployment.model or before.reference != deployment.reference:
            raise InvalidArgument(
                f"deployment {deployment.id} serves {before.reference!r}; it cannot change to "
                f"{deployment.reference!r}",
                field="reference",
            )
        if before.status is DeploymentStatus.STOPPED:
            raise Conflict(
                f"deployment {deployment.id} stopped; a server that starts again is a new "
                "deployment",
                field="deployment",
            )
        conn.execute(update(DEPLOYMENTS).where(DEPLOYMENTS.c.id == deployment.id).values(serving))
        kind = _change(before, deployment)
    if kind is not None:
        _add_event(conn, deployment, kind, now)
    node = LineageNode(DEPLOYMENT_NODE, deployment.id)
    edges = [LineageEdge(LineageNode("model_version", v), node, "consumed") for v in version_ids]
    add_edges(conn, edges, now)
    return _row(conn, deployment.id)


def _change(before: Deployment, after: Deployment) -> DeploymentEventKind | None:
    """The event a change of what a deployment serves is recorded as (None: no change)."""
    if before.version != after.version:
        return DeploymentEventKind.SWAPPED
    if before.serving() != after.serving() or before.challenger != after.challenger:
        return DeploymentEventKind.CHALLENGER
    return None


def _add_event(
    conn: Connection, deployment: Deployment, kind: DeploymentEventKind, now: int
) -> None:
    conn.execute(
        DEPLOYMENT_EVENTS.insert().values(
            deployment=deployment.id,
            kind=kind.value,
            at=now,
            version=deployment.version,
            mode=deployment.mode.value,
            challenger_version=deployment.challenger_version,
            traffic_share=deployment.traffic_share,
        )
    )


def heartbeat(conn: Connection, deployment_id: str, now: int) -> Deployment:
    """Note that a running deployment is alive (a stopped one is left as it is)."""
    _row(conn, deployment_id)
    conn.execute(
        update(DEPLOYMENTS)
        .where(
            DEPLOYMENTS.c.id == deployment_id,
            DEPLOYMENTS.c.status == DeploymentStatus.RUNNING.value,
        )
        .values(heartbeat_at=now)
    )
    return _row(conn, deployment_id)


def stop(conn: Connection, deployment_id: str, now: int) -> Deployment:
    """Mark a deployment stopped (once: stopping a stopped one changes nothing)."""
    found = _row(conn, deployment_id, lock=True)
    if found.status is DeploymentStatus.STOPPED:
        return found
    conn.execute(
        update(DEPLOYMENTS)
        .where(DEPLOYMENTS.c.id == deployment_id)
        .values(status=DeploymentStatus.STOPPED.value, stopped_at=now, heartbeat_at=now)
    )
    _add_event(conn, found, DeploymentEventKind.STOPPED, now)
    return _row(conn, deployment_id)


def list_deployments(
    conn: Connection,
    projects: Sequence[str] | None,
    model: str | None,
    status: DeploymentStatus | None,
    limit: int,
) -> list[Deployment]:
    """Deployments of ``projects`` (None: all), of one model and status when given, the
    most recently started first."""
    query = select(DEPLOYMENTS)
    if projects is not None:
        query = query.where(DEPLOYMENTS.c.project.in_(list(projects)))
    if model is not None:
        query = query.where(DEPLOYMENTS.c.model == model)
    if status is not None:
        query = query.where(DEPLOYMENTS.c.status == status.value)
    query = query.order_by(DEPLOYMENTS.c.started_at.desc(), DEPLOYMENTS.c.id).limit(limit)
    return [record(Deployment, row) for row in conn.execute(query)]


def list_events(conn: Connection, deployment_id: str, limit: int) -> list[DeploymentEvent]:
    """A deployment's changes, the oldest first (at most ``limit``, the newest ones)."""
    _row(conn, deployment_id)
    query = (
        select(DEPLOYMENT_EVENTS)
        .where(DEPLOYMENT_EVENTS.c.deployment == deployment_id)
        .order_by(DEPLOYMENT_EVENTS.c.id.desc())
        .limit(limit)
    )
    return [record(DeploymentEvent, row) for row in reversed(list(conn.execute(query)))]
