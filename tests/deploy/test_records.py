"""Deployment records through the Store protocol, embedded and through the server, on SQLite
and PostgreSQL: a model server that starts is recorded with the version its reference
resolves to, each change of what it serves is an event, heartbeats and the stop are kept,
and the lineage walks from the deployment to the model versions it served."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from shipyard.client import Store
from shipyard.entities import (
    Deployment,
    DeploymentEventKind,
    DeploymentStatus,
    LineageNode,
    RolloutMode,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound


def _deployment(name: str, version: int = 1, **changes: object) -> Deployment:
    found = Deployment(uuid.uuid4().hex, name, f"{name}@champion", version)
    return dataclasses.replace(found, **changes)  # type: ignore[arg-type]


def test_a_started_server_is_recorded_with_its_model_s_project(
    store: Store, registered: str
) -> None:
    given = _deployment(registered, address="http://10.0.0.7:8000")
    stored = store.put_deployment(given)
    assert stored.status is DeploymentStatus.RUNNING
    assert stored.project == "default" and stored.reference == f"{registered}@champion"
    assert stored.started_at > 0 and stored.heartbeat_at >= stored.started_at
    assert stored.stopped_at == 0 and stored.address == "http://10.0.0.7:8000"
    assert store.get_deployment(given.id) == stored
    assert [d.id for d in store.list_deployments(model=registered)] == [given.id]
    events = store.list_deployment_events(given.id)
    assert [(e.kind, e.version) for e in events] == [(DeploymentEventKind.STARTED, 1)]


def test_swaps_and_rollout_changes_are_recorded_once_each(store: Store, registered: str) -> None:
    first = store.put_deployment(_deployment(registered))
    same = store.put_deployment(dataclasses.replace(first))  # nothing changed: a heartbeat
    assert same.heartbeat_at >= first.heartbeat_at
    canary = dataclasses.replace(
        first,
        mode=RolloutMode.CANARY,
        challenger="challenger",
        challenger_version=2,
        traffic_share=0.25,
    )
    store.put_deployment(canary)
    swapped = store.put_deployment(dataclasses.replace(canary, version=2))
    assert swapped.version == 2 and swapped.challenger_version == 2
    shadow = dataclasses.replace(swapped, mode=RolloutMode.SHADOW, traffic_share=0.0)
    store.put_deployment(shadow)
    events = store.list_deployment_events(first.id)
    assert [(e.kind, e.version, e.mode, e.challenger_version) for e in events] == [
        (DeploymentEventKind.STARTED, 1, RolloutMode.SINGLE, 0),
        (DeploymentEventKind.CHALLENGER, 1, RolloutMode.CANARY, 2),
        (DeploymentEventKind.SWAPPED, 2, RolloutMode.CANARY, 2),
        (DeploymentEventKind.CHALLENGER, 2, RolloutMode.SHADOW, 2),
    ]
    assert events[1].traffic_share == 0.25
    assert [e.kind for e in store.list_deployment_events(first.id, limit=1)] == [
        DeploymentEventKind.CHALLENGER
    ]


def test_heartbeat_and_stop(store: Store, registered: str) -> None:
    started = store.put_deployment(_deployment(registered))
    beat = store.heartbeat_deployment(started.id)
    assert beat.heartbeat_at >= started.heartbeat_at and beat.status is DeploymentStatus.RUNNING
    stopped = store.stop_deployment(started.id)
    assert stopped.status is DeploymentStatus.STOPPED and stopped.stopped_at >= beat.heartbeat_at
    assert store.stop_deployment(started.id) == stopped  # once
    assert store.heartbeat_deployment(started.id).heartbeat_at == stopped.heartbeat_at
    with pytest.raises(Conflict):
        store.put_deployment(dataclasses.replace(started, version=2))
    kinds = [e.kind for e in store.list_deployment_events(started.id)]
    assert kinds == [DeploymentEventKind.STARTED, DeploymentEventKind.STOPPED]
    assert store.list_deployments(status=DeploymentStatus.RUNNING, model=registered) == []
    assert [d.id for d in store.list_deployments(status="stopped")] == [started.id]  # type: ignore[arg-type]


def test_listing_is_newest_first_and_limited(store: Store, registered: str) -> None:
    ids = [store.put_deployment(_deployment(registered)).id for _ in range(3)]
    listed = [d.id for d in store.list_deployments(model=registered)]
    assert sorted(listed) == sorted(ids)
    started = [d.started_at for d in store.list_deployments(model=registered)]
    assert started == sorted(started, reverse=True)
    assert len(store.list_deployments(limit=2)) == 2
    assert store.list_deployments(projects=["elsewhere"]) == []


def test_lineage_walks_from_a_deployment_to_the_versions_it_served(
    store: Store, registered: str
) -> None:
    first = store.put_deployment(_deployment(registered))
    store.put_deployment(dataclasses.replace(first, version=2))
    node = LineageNode("deployment", first.id)
    up = store.get_lineage(node, "up", 1)
    served = sorted(store.get_model_version_by_id(e.src.id).version for e in up)
    assert served == [1, 2]
    assert {e.relation for e in up} == {"consumed"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "not-hex!"}, "deployment"),
        ({"id": ""}, "deployment"),
        ({"model": "a/b"}, "name"),
        ({"version": 0}, "version"),
        ({"challenger_version": -1}, "version"),
        ({"traffic_share": 1.5}, "traffic_share"),
        ({"traffic_share": float("nan")}, "traffic_share"),
        ({"address": "x" * 2000}, "address"),
        ({"challenger": "Not An Alias"}, "alias"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field_and_nothing_is_stored(
    store: Store, registered: str, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store.put_deployment(_deployment(registered, **changes))
    assert caught.value.field == field
    assert store.list_deployments(model=registered) == []


def test_unknown_mode_status_model_version_and_id(store: Store, registered: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _deployment(registered, mode="blue-green")
    assert caught.value.field == "mode"
    with pytest.raises(InvalidArgument) as caught:
        store.list_deployments(status="paused")  # type: ignore[arg-type]
    assert caught.value.field == "status"
    with pytest.raises(NotFound):
        store.put_deployment(_deployment("no-such-model"))
    with pytest.raises(NotFound) as missing:
        store.put_deployment(_deployment(registered, version=9))
    assert missing.value.field == "version"
    with pytest.raises(NotFound) as unknown:
        store.get_deployment(uuid.uuid4().hex)
    assert unknown.value.field == "deployment"
    assert store.list_deployments(model=registered) == []


def test_a_deployment_keeps_its_reference(store: Store, registered: str) -> None:
    first = store.put_deployment(_deployment(registered))
    with pytest.raises(InvalidArgument) as caught:
        store.put_deployment(dataclasses.replace(first, reference=f"{registered}/1"))
    assert caught.value.field == "reference"
    assert store.get_deployment(first.id).reference == f"{registered}@champion"
