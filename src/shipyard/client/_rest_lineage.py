"""RestStore's lineage: edges recorded and walked by the server."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._lineage import LineageStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import LineageEdge, LineageNode


class RestLineage(RestBase, LineageStore):
    """The lineage graph, kept by the server."""

    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None:
        self.http.send("POST", "/lineage/edges", json={"edges": [e.to_dict() for e in edges]})

    def get_lineage(
        self,
        node: LineageNode,
        direction: str = "up",
        max_depth: int | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[LineageEdge]:
        params = {
            "kind": node.kind,
            "id": node.id,
            "direction": direction,
            "max_depth": max_depth,
            "project": None if projects is None else list(projects),
        }
        found = self.http.send("GET", "/lineage", params=params)
        return [LineageEdge.from_dict(e) for e in found["edges"]]
