"""Monitors and their history behave the same on every backend (embedded and over REST, on
SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from shipyard.client import Store
from shipyard.entities import Monitor, MonitorRun
from shipyard.errors import InvalidArgument, NotFound


def _run(monitor: str, started: int, **result: object) -> MonitorRun:
    return MonitorRun(
        uuid.uuid4().hex, monitor, started, started + 5, 0, started, 3, "ok", dict(result)
    )


def test_monitors_round_trip_and_history(store: Store) -> None:
    made = store.put_monitor(
        Monitor(
            "churn",
            "churn@champion",
            "15m",
            "*/15 * * * *",
            ["auc < 0.75"],
            [{"type": "log"}],
            options={"alpha": 0.01},
        )
    )
    assert made.created_at > 0 and made.alerts == ["auc < 0.75"] and made.options == {"alpha": 0.01}
    replaced = store.put_monitor(Monitor("churn", "churn@challenger", "1h"))
    assert replaced.model == "churn@challenger" and replaced.created_at == made.created_at
    assert [m.name for m in store.list_monitors()] == ["churn"]
    first = store.add_monitor_run(_run("churn", 10, metrics={"auc": 0.8}))
    second = store.add_monitor_run(
        _run("churn", 20, metrics={"auc": 0.7}, alerts={"x": {"firing": True}})
    )
    history = store.list_monitor_runs("churn")
    assert [r.id for r in history] == [second.id, first.id]
    assert history[0].result == {"metrics": {"auc": 0.7}, "alerts": {"x": {"firing": True}}}
    assert [r.id for r in store.list_monitor_runs("churn", limit=1)] == [second.id]
    store.delete_monitor("churn")
    assert store.list_monitors() == []
    with pytest.raises(NotFound, match="no monitor named 'churn'"):
        store.list_monitor_runs("churn")


def test_bad_monitors_are_refused(store: Store) -> None:
    with pytest.raises(NotFound, match="no monitor named 'nope'"):
        store.get_monitor("nope")
    with pytest.raises(NotFound):
        store.add_monitor_run(_run("nope", 1))
    with pytest.raises(InvalidArgument):
        store.put_monitor(Monitor("bad name!", "churn@champion"))
    with pytest.raises(InvalidArgument, match="model"):
        store.put_monitor(Monitor("ok", ""))
    store.put_monitor(Monitor("ok", "m@champion"))
    with pytest.raises(InvalidArgument, match="status"):
        store.add_monitor_run(MonitorRun(uuid.uuid4().hex, "ok", 1, 2, 0, 1, 1, "weird"))
    assert store.list_monitor_runs("ok") == []
