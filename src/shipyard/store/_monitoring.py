"""Queries for monitors and their run history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from shipyard.entities import DEFAULT_PROJECT, Monitor, MonitorRun
from shipyard.errors import NotFound
from shipyard.store._models.monitoring import MONITOR_RUNS, MONITORS
from shipyard.store._sql import in_projects, record, upsert


def _monitor(row: Any) -> Monitor:
    spec = json.loads(row.spec)
    return record(
        Monitor,
        row,
        alerts=spec.get("alerts", []),
        channels=spec.get("channels", []),
        reference=spec.get("reference", ""),
        options=spec.get("options", {}),
    )


def put_monitor(
    conn: Connection, monitor: Monitor, now: int, project: str = DEFAULT_PROJECT
) -> Monitor:
    """Create or replace a monitor in ``project`` (its creation time and project are kept)."""
    values = {
        "model": monitor.model,
        "window": monitor.window,
        "schedule": monitor.schedule,
        "spec": json.dumps(monitor.spec(), sort_keys=True),
        "updated_at": now,
    }
    statement = upsert(conn, MONITORS).values(
        name=monitor.name, created_at=now, project=project, **values
    )
    conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))
    return get_monitor(conn, monitor.name)


def get_monitor(conn: Connection, name: str) -> Monitor:
    """One monitor, or NotFound naming the ones that exist."""
    row = conn.execute(select(MONITORS).where(MONITORS.c.name == name)).first()
    if row is not None:
        return _monitor(row)
    known = list(conn.execute(select(MONITORS.c.name).order_by(MONITORS.c.name)).scalars())
    raise NotFound(
        f"no monitor named {name!r} (known: {', '.join(known[:20]) or 'none'}); create it with "
        "`shipyard monitor create`",
        field="monitor",
    )


def list_monitors(conn: Connection, projects: Sequence[str] | None = None) -> list[Monitor]:
    """Every monitor (of ``projects``; None: all), by name."""
    query = select(MONITORS).order_by(MONITORS.c.name)
    query = in_projects(query, MONITORS.c.project, projects)
    return [_monitor(r) for r in conn.execute(query)]


def delete_monitor(conn: Connection, name: str) -> None:
    """Remove a monitor and its history."""
    get_monitor(conn, name)
    conn.execute(delete(MONITOR_RUNS).where(MONITOR_RUNS.c.monitor == name))
    conn.execute(delete(MONITORS).where(MONITORS.c.name == name))


def add_run(conn: Connection, run: MonitorRun) -> MonitorRun:
    """Record a finished monitor run."""
    get_monitor(conn, run.monitor)
    values = run.to_dict()
    values["result"] = json.dumps(run.result, sort_keys=True, default=str)
    conn.execute(MONITOR_RUNS.insert().values(**values))
    return run


def list_runs(conn: Connection, monitor: str, limit: int) -> list[MonitorRun]:
    """A monitor's runs, the newest first."""
    get_monitor(conn, monitor)
    query = (
        select(MONITOR_RUNS)
        .where(MONITOR_RUNS.c.monitor == monitor)
        .order_by(MONITOR_RUNS.c.started_at.desc(), MONITOR_RUNS.c.id.desc())
        .limit(limit)
    )
    return [record(MonitorRun, row, result=json.loads(row.result)) for row in conn.execute(query)]
