"""The lineage graph: recording edges and walking it upstream or downstream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import Connection, Table, and_, or_, select

from shipyard.entities import LineageEdge, LineageNode
from shipyard.errors import InvalidArgument
from shipyard.store._models import LineageEdge as LineageEdgeRow
from shipyard.store._tracking import _chunks, _upsert

EDGES: Table = LineageEdgeRow.__table__  # type: ignore[assignment]
RELATIONS = ("consumed", "produced")
Direction = Literal["up", "down"]


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
    stmt = _upsert(conn, EDGES).on_conflict_do_nothing()
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
    for chunk in _chunks(rows):
        conn.execute(stmt, list(chunk))


def walk(
    conn: Connection, start: LineageNode, direction: Direction, max_depth: int | None = None
) -> list[LineageEdge]:
    """Every edge reachable from ``start`` going ``up`` (towards inputs) or ``down``.

    Breadth-first, one query per level, each node visited once (cycles cannot loop).
    """
    if direction not in ("up", "down"):
        raise InvalidArgument(
            f"direction must be 'up' or 'down', got {direction!r}", field="direction"
        )
    near_kind, near_id = (
        (EDGES.c.dst_kind, EDGES.c.dst_id)
        if direction == "up"
        else (EDGES.c.src_kind, EDGES.c.src_id)
    )
    seen = {start}
    frontier = [start]
    found: list[LineageEdge] = []
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        next_frontier: list[LineageNode] = []
        for chunk in _chunks(frontier, 200):
            condition = or_(*(and_(near_kind == n.kind, near_id == n.id) for n in chunk))
            query = select(EDGES).where(condition).order_by(EDGES.c.id)
            for row in conn.execute(query):
                edge = LineageEdge(
                    LineageNode(row.src_kind, row.src_id),
                    LineageNode(row.dst_kind, row.dst_id),
                    row.relation,
                    row.created_at,
                )
                found.append(edge)
                far = edge.src if direction == "up" else edge.dst
                if far not in seen:
                    seen.add(far)
                    next_frontier.append(far)
        frontier = next_frontier
    return found
