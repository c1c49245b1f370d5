"""The lineage slice of the Store protocol: edges between runs, dataset versions, model
versions, pipeline runs and step runs, and walks over them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shipyard.entities import LineageEdge, LineageNode


@runtime_checkable
class LineageStore(Protocol):
    """The lineage graph: record edges, walk from a node."""

    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record lineage edges (idempotent: an edge recorded twice is kept once)."""
        ...

    def get_lineage(
        self,
        node: LineageNode,
        direction: str = "up",
        max_depth: int | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[LineageEdge]:
        """Edges reachable from ``node`` upstream (``up``) or downstream (``down``), at most
        ``max_depth`` steps away (no limit when None); with ``projects`` the walk stops at
        nodes owned by no project in it (every project when None)."""
        ...
