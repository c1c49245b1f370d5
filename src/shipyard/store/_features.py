"""Queries for the feature-store registry: definitions and materialization windows.

Definitions are upserted by (kind, name) inside the caller's write transaction, so one
``apply`` of many objects lands whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select, tuple_

from shipyard.entities import (
    DEFAULT_PROJECT,
    FeatureMaterialization,
    FeatureObject,
    FeatureViewFreshness,
)
from shipyard.errors import NotFound
from shipyard.store._models.features import FEATURE_DEFINITIONS, FEATURE_MATERIALIZATIONS
from shipyard.store._sql import chunks, in_projects, record, upsert

_LABEL = {"feature_view": "feature view", "on_demand_view": "on-demand feature view"}


def _object(row: Any) -> FeatureObject:
    return record(FeatureObject, row, spec=json.loads(row.spec))


def put_objects(
    conn: Connection,
    objects: Sequence[FeatureObject],
    now: int,
    project: str = DEFAULT_PROJECT,
) -> None:
    """Create or replace definitions in ``project``; an unchanged digest keeps the row (and
    its times), and an existing definition keeps its project."""
    for obj in objects:
        statement = upsert(conn, FEATURE_DEFINITIONS).values(
            kind=obj.kind,
            name=obj.name,
            spec=json.dumps(obj.spec, sort_keys=True),
            digest=obj.digest,
            created_at=now,
            updated_at=now,
            project=project,
        )
        excluded = statement.excluded
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["kind", "name"],
                set_={"spec": excluded.spec, "digest": excluded.digest, "updated_at": now},
                where=FEATURE_DEFINITIONS.c.digest != excluded.digest,
            )
        )


def delete_objects(conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Remove definitions by (kind, name); unknown ones are ignored."""
    for chunk in chunks(list(keys), 200):
        conn.execute(
            delete(FEATURE_DEFINITIONS).where(
                tuple_(FEATURE_DEFINITIONS.c.kind, FEATURE_DEFINITIONS.c.name).in_(chunk)
            )
        )


def get_object(conn: Connection, kind: str, name: str) -> FeatureObject:
    """One definition, or NotFound naming the ones that exist."""
    row = conn.execute(
        select(FEATURE_DEFINITIONS).where(
            FEATURE_DEFINITIONS.c.kind == kind, FEATURE_DEFINITIONS.c.name == name
        )
    ).first()
    if row is not None:
        return _object(row)
    known = conn.execute(
        select(FEATURE_DEFINITIONS.c.name)
        .where(FEATURE_DEFINITIONS.c.kind == kind)
        .order_by(FEATURE_DEFINITIONS.c.name)
    ).scalars()
    names = ", ".join(list(known)[:20]) or "none"
    label = _LABEL.get(kind, kind)
    raise NotFound(
        f"no {label} named {name!r} (known: {names}); define it in features.py and run "
        "`shipyard features apply`",
        field=kind,
    )


def list_objects(
    conn: Connection, kind: str | None, projects: Sequence[str] | None = None
) -> list[FeatureObject]:
    """Definitions of one kind (or all) of ``projects`` (None: all), by kind and name."""
    query = select(FEATURE_DEFINITIONS).order_by(
        FEATURE_DEFINITIONS.c.kind, FEATURE_DEFINITIONS.c.name
    )
    if kind is not None:
        query = query.where(FEATURE_DEFINITIONS.c.kind == kind)
    query = in_projects(query, FEATURE_DEFINITIONS.c.project, projects)
    return [_object(row) for row in conn.execute(query)]


def record_materialization(
    conn: Connection, view: str, start: int, end: int, rows: int, now: int
) -> FeatureMaterialization:
    """Remember that ``view`` was materialized over ``[start, end)``."""
    conn.execute(
        FEATURE_MATERIALIZATIONS.insert().values(
            view=view, start_ms=start, end_ms=end, rows=rows, created_at=now
        )
    )
    return FeatureMaterialization(view, start, end, rows, now)


def list_materializations(conn: Connection, view: str, limit: int) -> list[FeatureMaterialization]:
    """A view's materializations, the latest window end first."""
    query = (
        select(FEATURE_MATERIALIZATIONS)
        .where(FEATURE_MATERIALIZATIONS.c.view == view)
        .order_by(FEATURE_MATERIALIZATIONS.c.end_ms.desc(), FEATURE_MATERIALIZATIONS.c.id.desc())
        .limit(limit)
    )
    return [
        record(FeatureMaterialization, r, start=r.start_ms, end=r.end_ms)
        for r in conn.execute(query)
    ]


def view_freshness(
    conn: Connection, projects: Sequence[str] | None = None
) -> list[FeatureViewFreshness]:
    """When each feature view of ``projects`` (None: all) was last materialized, by project
    and view, in one grouped query. A view never materialized has no entry, nor have the
    windows of a view whose definition was removed (no project owns them)."""
    m, d = FEATURE_MATERIALIZATIONS.c, FEATURE_DEFINITIONS.c
    query = (
        select(
            d.project,
            m.view,
            func.max(m.created_at).label("materialized_at"),
            func.max(m.end_ms).label("watermark"),
        )
        .join_from(
            FEATURE_MATERIALIZATIONS,
            FEATURE_DEFINITIONS,
            (d.kind == "feature_view") & (d.name == m.view),
        )
        .group_by(d.project, m.view)
        .order_by(d.project, m.view)
    )
    query = in_projects(query, d.project, projects)
    return [
        FeatureViewFreshness(row.project, row.view, int(row.materialized_at), int(row.watermark))
        for row in conn.execute(query)
    ]
