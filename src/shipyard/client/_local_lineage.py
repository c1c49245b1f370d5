"""LocalStore's lineage: edges in the metadata database, walked with recursive queries."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._lineage import LineageStore
from shipyard.client._local_base import LocalBase
from shipyard.entities import LineageEdge, LineageNode
from shipyard.store import lineage_db


class LocalLineage(LocalBase, LineageStore):
    """Lineage edges in the database."""

    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None:
        with self._write() as conn:
            lineage_db.add_edges(conn, list(edges), self._now())

    def get_lineage(
        self,
        node: LineageNode,
        direction: str = "up",
        max_depth: int | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[LineageEdge]:
        return self._read(
            lambda c: lineage_db.walk(
                c,
                node,
                direction,  # type: ignore[arg-type]
                max_depth,
                projects,
            )
        )
