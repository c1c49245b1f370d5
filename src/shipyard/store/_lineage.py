"""The lineage graph: recording edges and walking it upstream or downstream."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, and_, bindparam, or_, select

from shipyard.entities import LineageEdge, LineageNode
from shipyard.errors import InvalidArgument
from shipyard.store._driver import execute_compiled
from shipyard.store._models.lineage import LINEAGE_EDGES
from shipyard.store._owners import projects_of
from shipyard.store._sql import chunks, upsert_for

RELATIONS = ("consumed", "produced")
_EDGE_COLUMNS = ("src_kind", "src_id", "dst_kind", "dst_id", "relation", "created_at")
Direction = Literal["up", "down"]


@functools.lru_cache(maxsize=4)
def _insert_edges(dialect_name: str) -> Any:
    """The INSERT of edges that skips those recorded before, built once per dialect: every
    step of every pipeline run records edges, and building the statement costs more than
    running it (and it runs on the driver: see ``_driver``)."""
    values: dict[str, Any] = {column: bindparam(column) for column in _EDGE_COLUMNS}
    return upsert_for(dialect_name, LINEAGE_EDGES).values(values).on_conflict_do_nothing()


def add_edges(conn: Connection, edges: Sequence[LineageEdge], now: int) -> None:
    """Record edges; an edge recorded before is kept as it was (idempotent)."""
    for edge in edges:
        if edge.relation not in RELATIONS:
            raise InvalidArgument(
                f"lineage relation {edge.relation!r} is not one of {', '.join(RELATIONS)}",
                field="relation",
            )
        if edge.src == edge.dst:
            raise InvalidArgument(f"a lineage edge cannot point {edge.src} at itself", field="dst")
    stmt = _insert_edges(conn.dialect.name)
    rows = [
        {
            "src_kind": e.src.kind,
            "src_id": e.src.id,
            "dst_kind": e.dst.kind,
            "dst_id": e.dst.id,
            "relation": e.relation,
            "created_at": now,
        }
        for e in edges
    ]
    for chunk in chunks(rows):
        execute_compiled(conn, stmt, chunk)


def walk(
    conn: Connection,
    start: LineageNode,
    direction: Direction,
    max_depth: int | None = None,
    projects: Sequence[str] | None = None,
) -> list[LineageEdge]:
    """Every edge reachable from ``start`` going ``up`` (towards inputs) or ``down``.

    Breadth-first, one query per level, each node visited once (cycles cannot loop). With
    ``projects`` (None: every project) the walk stops at nodes owned by no project in it:
    their edges are left out and nothing beyond them is followed.
    """
    if direction not in ("up", "down"):
        raise InvalidArgument(
            f"direction must be 'up' or 'down', got {direction!r}", field="direction"
        )
    near_kind, near_id = (
        (LINEAGE_EDGES.c.dst_kind, LINEAGE_EDGES.c.dst_id)
        if direction == "up"
        else (LINEAGE_EDGES.c.src_kind, LINEAGE_EDGES.c.src_id)
    )
    seen = {start}
    hidden: set[LineageNode] = set()
    frontier = [start]
    found: list[LineageEdge] = []
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        next_frontier: list[LineageNode] = []
        level: list[LineageEdge] = []
        for chunk in chunks(frontier, 200):
            condition = or_(*(and_(near_kind == n.kind, near_id == n.id) for n in chunk))
            query = select(LINEAGE_EDGES).where(condition).order_by(LINEAGE_EDGES.c.id)
            level.extend(
                LineageEdge(
                    LineageNode(row.src_kind, row.src_id),
                    LineageNode(row.dst_kind, row.dst_id),
                    row.relation,
                    row.created_at,
                )
                for row in conn.execute(query)
            )
        if projects is not None:
            fresh = {e.src if direction == "up" else e.dst for e in level} - seen - hidden
            owners = projects_of(conn, fresh)
            hidden |= {n for n in fresh if owners.get(n) not in projects}
        for edge in level:
            far = edge.src if direction == "up" else edge.dst
            if far in hidden:
                continue
            found.append(edge)
            if far not in seen:
                seen.add(far)
                next_frontier.append(far)
        frontier = next_frontier
    return found
