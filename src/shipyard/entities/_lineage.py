"""Nodes and edges of the lineage graph."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class LineageNode:
    """A record in the lineage graph: its kind (``run``, ``dataset_version``, ...) and id."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class LineageEdge:
    """An arrow from an upstream node to a downstream one.

    ``relation`` is ``consumed`` (downstream read upstream) or ``produced`` (upstream made
    downstream).
    """

    src: LineageNode
    dst: LineageNode
    relation: str
    created_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": asdict(self.src),
            "dst": asdict(self.dst),
            "relation": self.relation,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageEdge:
        return cls(
            LineageNode(**data["src"]),
            LineageNode(**data["dst"]),
            data["relation"],
            int(data.get("created_at", 0)),
        )


LINEAGE_NODE_KINDS: tuple[str, ...] = (
    "dataset_version",
    "run",
    "model_version",
    "pipeline_run",
    "step_run",
    "feature_view",
    "deployment",
    "monitor_run",
    "alias_event",
)
